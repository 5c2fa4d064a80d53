"""A connection over a scripted transport: framing, control messages, clean-up, ticks."""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any, cast

import pytest
from fake_transport import Wire

import otp
from otp import Atom
from otp._runtime._ids import _new_ref, _new_remote_pid
from otp._runtime._node_options import DistOptions
from otp._runtime._scheduler import current_node
from otp.distribution import ImproperList, encode
from otp.distribution._connection import Connection
from otp.distribution._handshake import OUR_FLAGS, HandshakeError, initiate
from otp.distribution._node import Distribution
from otp.distribution._setup import accepted
from otp.testing import VirtualClock, wait_idle

PEER = "erl@host"


def frame(*terms: object) -> bytes:
    data = b"p" + b"".join(encode(t) for t in terms)
    return struct.pack(">I", len(data)) + data


def remote_pid(id_: int) -> otp.Pid:
    return Distribution.pid_hook(_dist(), PEER, id_, 0, 7)


_current: list[Distribution] = []


def _dist() -> Distribution:
    return _current[-1]


def open_connection(ticktime: float = 60.0) -> tuple[Connection, Wire, Wire]:
    """A connection that is up, its transport as the peer feeds it, and as it was written."""
    node = current_node()
    dist = node.dist = Distribution(node, DistOptions(net_ticktime=ticktime), b"cookie")
    _current.append(dist)
    conn = dist.conns[PEER] = Connection(dist, PEER)
    wire = Wire()
    conn.attach(asyncio.StreamReader(), wire.writer(), OUR_FLAGS)
    return conn, wire, wire


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(("echo", request), state)


class TestReceiving:
    def test_send_delivers_to_the_local_process(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, reader, _ = open_connection()
            reader.feed_data(frame((2, Atom(""), otp.self()), (Atom("hi"), remote_pid(5))))
            msg = await otp.receive()
            conn.close()
            return msg

        msg = clock.run(main)
        assert isinstance(msg, tuple) and msg[0] == "hi" and msg[1].node == PEER

    def test_a_call_to_a_gen_server_is_answered_through_the_alias(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[tuple[object, ...]]:
            conn, reader, wire = open_connection()
            await Echo.start_link(None, name="echo")
            ref = _new_ref(PEER, 7, (1, 2, 3))
            tag = ImproperList([Atom("alias")], ref)
            call = (Atom("$gen_call"), (remote_pid(5), tag), 42)
            reader.feed_data(frame((6, remote_pid(5), Atom(""), Atom("echo")), call))
            await wait_idle()
            conn.close()
            return wire.packets()

        [(control, payload)] = clock.run(main)
        assert isinstance(control, tuple) and control[0] == 33  # ALIAS_SEND
        assert payload == (ImproperList(["alias"], _new_ref(PEER, 7, (1, 2, 3))), ("echo", 42))

    def test_a_cast_reaches_handle_cast(self, clock: VirtualClock) -> None:
        class Keep(otp.GenServer):
            def handle_cast(self, request: object, state: object) -> Any:
                return otp.NoReply(request)

        async def main() -> object:
            conn, reader, _ = open_connection()
            pid = await Keep.start_link(None)
            reader.feed_data(frame((2, Atom(""), pid), (Atom("$gen_cast"), "x")))
            await wait_idle()
            conn.close()
            return await otp.sys.get_state(pid)

        assert clock.run(main) == "x"

    def test_monitoring_an_unregistered_name_answers_noproc(self, clock: VirtualClock) -> None:
        async def main() -> list[tuple[object, ...]]:
            conn, reader, wire = open_connection()
            ref = _new_ref(PEER, 7, (9,))
            reader.feed_data(frame((19, remote_pid(5), Atom("nobody"), ref)))
            await wait_idle()
            conn.close()
            return wire.packets()

        [(control, reason)] = clock.run(main)
        assert isinstance(control, tuple) and control[0] == 28  # PAYLOAD_MONITOR_P_EXIT
        assert control[1] == "nobody" and reason == "noproc"

    def test_a_bad_packet_is_logged_and_dropped(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            conn, reader, _ = open_connection()
            bad = b"p\x83m\x00\x00\x00\x09abc"
            reader.feed_data(struct.pack(">I", len(bad)) + bad)
            reader.feed_data(frame((2, Atom(""), otp.self()), "after"))
            msg = await otp.receive()
            conn.close()
            return msg

        with caplog.at_level(logging.ERROR, logger="otp"):
            assert clock.run(main) == "after"
        assert any("cannot be decoded" in r.getMessage() for r in caplog.records)


class Keeper(otp.GenServer):
    """Answers calls; keeps every other message it gets as its state."""

    def init(self, arg: object) -> list[object]:
        return []

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(("echo", request), state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, list)
        return otp.NoReply([*state, msg])


ALIAS = Atom("alias")
GEN_CALL = Atom("$gen_call")
CALLER_PID = _new_remote_pid(PEER, 5, 0, 7)  # remote_pid(5) once decoded
CALLER = "<Pid erl@host.5.0>"  # remote_pid(5), as `replies` shows it


def replies(packets: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """(op, to, payload) for each packet: `to` is a pid's repr, or an alias."""
    out: list[tuple[object, ...]] = []
    for control, payload in packets:
        assert isinstance(control, tuple)
        to = repr(control[2]) if isinstance(control[2], otp.Pid) else control[2]
        out.append((control[0], to, payload))
    return out


class TestCallsFromThePeer:
    """`{'$gen_call', From, Request}` in every shape: answered as gen:reply/2 would, or kept."""

    @staticmethod
    def call_keeper(*messages: object) -> tuple[list[tuple[object, ...]], bool, object]:
        """Send `messages` (terms, or bytes already encoded) to a Keeper.

        Returns (what was sent back, whether it lives, its state).
        """

        async def main() -> tuple[list[tuple[object, ...]], bool, object]:
            conn, reader, wire = open_connection()
            pid = await Keeper.start(None, name="keeper")
            assert pid is not None
            for msg in messages:
                control = encode((6, remote_pid(5), Atom(""), Atom("keeper")))
                data = b"p" + control + (msg if isinstance(msg, bytes) else encode(msg))
                reader.feed_data(struct.pack(">I", len(data)) + data)
            await wait_idle()
            alive = otp.is_alive(pid)
            state = await otp.sys.get_state(pid) if alive else None
            conn.close()
            return replies(wire.packets()), alive, state

        return VirtualClock().run(main)

    def test_a_plain_ref_tag_is_answered_to_the_pid(self) -> None:
        ref = _new_ref(PEER, 7, (1,))
        sent, alive, _ = self.call_keeper((GEN_CALL, (CALLER_PID, ref), 1))
        assert sent == [(2, CALLER, (ref, ("echo", 1)))]
        assert alive

    def test_an_empty_list_tag_is_answered_to_the_pid_with_the_tag_as_given(self) -> None:
        sent, alive, _ = self.call_keeper((GEN_CALL, (CALLER_PID, []), 1))
        assert sent == [(2, CALLER, ([], ("echo", 1)))]
        assert alive

    def test_an_alias_with_extra_elements_after_it_is_answered_through_the_alias(self) -> None:
        ref = _new_ref(PEER, 7, (2,))
        tag = [ImproperList([ALIAS], ref), Atom("extra")]
        sent, _, _ = self.call_keeper((GEN_CALL, (CALLER_PID, tag), 1))
        assert sent == [(33, ref, (tag, ("echo", 1)))]

    @pytest.mark.parametrize(
        "shape",
        [
            "alias in second place",
            "alias and more before the tail",
            "alias tail not a ref",
            "alias as a binary",
            "nested deeper",
        ],
    )
    def test_what_gen_reply_does_not_take_for_an_alias_is_answered_to_the_pid(
        self, shape: str
    ) -> None:
        ref = _new_ref(PEER, 7, (3,))
        tag = {
            "alias in second place": ImproperList([Atom("x"), ALIAS], ref),
            "alias and more before the tail": ImproperList([ALIAS, Atom("x")], ref),
            "alias tail not a ref": ImproperList([ALIAS], Atom("ref")),
            "alias as a binary": ImproperList(["alias"], ref),
            "nested deeper": [[ImproperList([ALIAS], ref)]],
        }[shape]
        sent, alive, _ = self.call_keeper((GEN_CALL, (CALLER_PID, tag), 1))
        assert sent == [(2, CALLER, (tag, ("echo", 1)))]
        assert alive

    def test_a_tag_nested_500_levels_deep_is_answered_and_the_server_lives(self) -> None:
        # [[...[[alias | Ref] | x]... | x] | x], 500 levels: deeper than the
        # codecs recurse, so both decoding and encoding it use an explicit stack.
        depth = 500
        alias = encode(ImproperList([ALIAS], _new_ref(PEER, 7, (4,))))[1:]
        tag = b"l\0\0\0\1" * depth + alias + encode(Atom("x"))[1:] * depth
        deep = encode((GEN_CALL, (Atom("pid"), Atom("tag")), 1)).replace(
            encode(Atom("tag"))[1:], tag
        )
        deep = deep.replace(encode(Atom("pid"))[1:], encode(CALLER_PID)[1:])
        ref = _new_ref(PEER, 7, (5,))
        sent, alive, _ = self.call_keeper(deep, (GEN_CALL, (CALLER_PID, ref), 2))
        replies = [(op, to, cast(tuple[object, object], answer)) for op, to, answer in sent]
        assert [(op, to, reply) for op, to, (_, reply) in replies] == [
            (2, CALLER, ("echo", 1)),
            (2, CALLER, ("echo", 2)),
        ]
        assert encode(replies[0][2][0]) == b"\x83" + tag
        assert alive

    @pytest.mark.parametrize(
        "msg",
        [
            (GEN_CALL, (Atom("not_a_pid"), _new_ref(PEER, 7, (6,))), 1),
            (GEN_CALL, Atom("no_from"), 1),
            (GEN_CALL, (1, 2, 3), 1),
            (GEN_CALL, [], 1),
            (GEN_CALL, 1),
            (Atom("$gen_cast"), 1, 2),
            (Atom("$gen_cast"),),
            (Atom("system"), Atom("no_from"), (Atom("terminate"), Atom("normal"))),
            (Atom("system"), (Atom("not_a_pid"), []), (Atom("terminate"), Atom("normal"))),
        ],
        ids=repr,
    )
    def test_a_malformed_call_or_cast_reaches_handle_info(self, msg: object) -> None:
        sent, alive, state = self.call_keeper(msg)
        assert (sent, alive, state) == ([], True, [msg])

    def test_sys_terminate_with_an_empty_list_tag_is_answered_and_stops_the_server(
        self,
    ) -> None:
        stop: object = (Atom("system"), (CALLER_PID, []), (Atom("terminate"), Atom("normal")))
        sent, alive, _ = self.call_keeper(stop)
        assert sent == [(2, CALLER, ([], Atom("ok")))]
        assert not alive


class TestCallingThePeer:
    def test_a_call_that_times_out_raises_call_timeout_whatever_its_request(
        self, clock: VirtualClock
    ) -> None:
        # repr() of an int of more than 4,300 digits raises ValueError.
        async def main() -> list[object]:
            conn, _, wire = open_connection()
            with pytest.raises(otp.CallTimeout) as timeout:
                await otp.call(remote_pid(5), 10**5000, timeout=1.0)
            seen: list[object] = [clock.time(), "too large to print" in str(timeout.value)]
            await wait_idle()
            conn.close()
            return [*seen, [p[0][0] for p in wire.packets()]]  # type: ignore[index]

        # The monitor, the call, and the monitor's end (which drops the alias).
        assert clock.run(main) == [1.0, True, [19, 2, 20]]

    def test_a_late_reply_never_reaches_the_mailbox(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            conn, reader, wire = open_connection()
            with pytest.raises(otp.CallTimeout):
                await otp.call(remote_pid(5), "slow", timeout=1.0)
            await wait_idle()
            [_, (_, call), _] = wire.packets()
            assert isinstance(call, tuple)
            tag = call[1][1]
            alias = tag.tail
            reader.feed_data(frame((33, remote_pid(5), alias), (tag, "late")))
            reader.feed_data(frame((2, Atom(""), otp.self()), (tag, "late by plain send")))
            reader.feed_data(frame((2, Atom(""), otp.self()), "after"))
            first = await otp.receive(timeout=5.0)
            conn.close()
            return [first, await leftover()]

        assert clock.run(main) == ["after", None]

    def test_a_reply_by_plain_send_answers_the_call(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, reader, wire = open_connection()
            call = asyncio.ensure_future(otp.call(remote_pid(5), "req", timeout=5.0))
            await wait_idle()
            [_, (_, message)] = wire.packets()
            assert isinstance(message, tuple)
            reader.feed_data(frame((2, Atom(""), otp.self()), (message[1][1], "answer")))
            answer = await call
            conn.close()
            return [answer, await leftover()]

        assert clock.run(main) == ["answer", None]

    def test_an_exit_reason_too_large_to_print_reaches_the_caller(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            conn, reader, wire = open_connection()

            def server_exits() -> None:  # once the call's monitor arrives
                (monitor,) = wire.packets()[0]
                assert isinstance(monitor, tuple)
                reader.feed_data(frame((28, remote_pid(5), monitor[1], monitor[3]), 10**5000))
                wire.on_write = None

            wire.on_write = server_exits
            with pytest.raises(otp.Exit) as crash:
                await otp.call(remote_pid(5), "req", timeout=10.0)
            conn.close()
            return crash.value.reason == 10**5000 and "too large to print" in str(crash.value)

        assert clock.run(main) is True


class TestBadInput:
    """What a peer sends that cannot be acted on is logged and dropped, whatever it holds."""

    @pytest.mark.parametrize(
        "packet",
        [
            b"p" + encode(10**5000),  # a control message that is not a tuple
            b"p" + encode((10**5000,)),  # an unknown operation
            b"p" + encode((2, 10**5000)),  # a SEND without its destination
            b"p" + encode((2, Atom(""), otp.Pid)) + b"\x83qw\x01mw\x01f" + encode(10**5000)[1:],
        ],
        ids=["not a tuple", "unknown op", "short SEND", "bad payload"],
    )
    def test_the_connection_carries_on(
        self, packet: bytes, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        # repr() of an int of more than 4,300 digits raises ValueError.
        async def main() -> object:
            conn, reader, _ = open_connection()
            reader.feed_data(struct.pack(">I", len(packet)) + packet)
            reader.feed_data(frame((2, Atom(""), otp.self()), "after"))
            msg = await otp.receive(timeout=5.0)
            conn.close()
            return msg

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert clock.run(main) == "after"
        [record] = [r for r in caplog.records if "node 'erl@host'" in r.getMessage()]
        assert len(record.getMessage()) < 10_000


class TestConnectionLoss:
    def test_links_monitors_and_calls_fire_with_noconnection(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            _, reader, wire = open_connection()
            otp.trap_exit(True)
            other = remote_pid(5)
            otp.link(other)
            ref = otp.monitor(other)
            dist = _dist()
            call = asyncio.ensure_future(dist.call(other, "req", None))
            await wait_idle()
            reader.feed_eof()
            got = [await otp.receive(), await otp.receive()]
            with pytest.raises(otp.NoConnection):
                await call
            sent = [p[0][0] for p in wire.packets()]  # type: ignore[index]
            return [got, ref, sent]

        got, ref, sent = clock.run(main)
        assert sent == [1, 19, 19, 2]  # LINK, MONITOR_P, the call's MONITOR_P, SEND
        assert isinstance(got, list)
        assert otp.Down(ref, got[1].pid, "noconnection") in got  # type: ignore[arg-type]
        assert any(type(m) is otp.Exited and m.reason == "noconnection" for m in got)

    def test_a_linked_local_process_exit_reaches_the_peer(self, clock: VirtualClock) -> None:
        async def main() -> list[tuple[object, ...]]:
            conn, reader, wire = open_connection()

            async def child() -> None:
                await otp.receive()

            pid = otp.spawn(child)
            reader.feed_data(frame((1, remote_pid(5), pid)))
            await wait_idle()
            otp.exit(pid, "kill")
            await wait_idle()
            conn.close()
            return wire.packets()

        [(control, reason)] = clock.run(main)
        assert isinstance(control, tuple) and control[0] == 24  # PAYLOAD_EXIT
        assert reason == "killed" and type(reason) is Atom


class Pipe:
    """A socket's writer whose bytes arrive in the other side's reader; closing ends both."""

    def __init__(self, mine: asyncio.StreamReader, theirs: asyncio.StreamReader) -> None:
        self.mine, self.theirs = mine, theirs
        self.transport = PipeTransport(self)

    def write(self, data: bytes) -> None:
        self.theirs.feed_data(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        for reader in (self.mine, self.theirs):
            if not reader.at_eof():
                reader.feed_eof()


class PipeTransport(Wire):
    """The transport of a `Pipe`, which a connection takes over after the handshake."""

    def __init__(self, pipe: Pipe) -> None:
        super().__init__()
        self.pipe = pipe

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.pipe.write(bytes(data))

    def close(self) -> None:
        super().close()
        self.pipe.close()


async def newcomer(cookie: bytes) -> object:
    """Another connection from a node calling itself PEER; the handshake's outcome."""
    ours, theirs = asyncio.StreamReader(), asyncio.StreamReader()
    incoming = accepted(_dist(), ours, cast(asyncio.StreamWriter, Pipe(ours, theirs)))
    [outcome, _] = await asyncio.gather(
        initiate(theirs, Pipe(theirs, ours), PEER, 8, cookie, OUR_FLAGS),
        incoming,
        return_exceptions=True,
    )
    return outcome


async def leftover() -> object:
    """The oldest message in the mailbox, or None when it is empty."""
    try:
        return await otp.receive(timeout=0)
    except TimeoutError:
        return None


class TestAnotherConnectionFromThePeer:
    def test_a_wrong_cookie_leaves_the_connection_up(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            conn, _, _ = open_connection()
            otp.monitor_node(PEER)
            outcome = await newcomer(b"not-the-cookie")
            await wait_idle()
            seen = [type(outcome), conn.state, _dist().conns.get(PEER) is conn, otp.nodes()]
            seen.append(await leftover())  # no NodeDown
            conn.close()
            return seen

        outcome, *seen = clock.run(main)
        assert issubclass(outcome, HandshakeError | asyncio.IncompleteReadError)  # type: ignore[arg-type]
        assert seen == ["up", True, [PEER], None]

    def test_the_cookie_proves_a_restarted_node_which_replaces_the_connection(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            old, _, _ = open_connection()
            otp.monitor_node(PEER)
            outcome = await newcomer(b"cookie")
            down = await otp.receive(timeout=0)
            new = _dist().conns[PEER]
            seen = [type(outcome).__name__, old.state, new.state, down]
            new.close()
            return seen

        assert clock.run(main) == ["Peer", "closed", "up", otp.NodeDown(PEER)]


class TestTicks:
    def test_an_idle_connection_sends_ticks(self, clock: VirtualClock) -> None:
        async def main() -> int:
            conn, reader, wire = open_connection(ticktime=8.0)
            await asyncio.sleep(0)
            for _ in range(3):
                reader.feed_data(b"\0\0\0\0")  # the peer's tick keeps it alive
                await asyncio.sleep(2.0)
            conn.close()
            return wire.packets().count(())

        assert clock.run(main) == 3

    def test_a_silent_peer_is_declared_down_after_net_ticktime(self, clock: VirtualClock) -> None:
        async def main() -> object:
            open_connection(ticktime=8.0)
            otp.monitor_node(PEER)
            return await otp.receive()

        assert clock.run(main) == otp.NodeDown(PEER)
        assert clock.time() == 8.0
