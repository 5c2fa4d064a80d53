"""A message whose payload cannot be decoded: who waits for it is told at once, never silence."""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

import pytest
from test_framing import open_connection

import otp
from otp import Atom
from otp._runtime._ids import _new_ref
from otp._runtime._scheduler import current_node
from otp.distribution import ImproperList, encode
from otp.distribution._node import Distribution
from otp.distribution._undecodable import call_header, reply_tag
from otp.testing import VirtualClock, wait_idle

PEER = "erl@host"
#: A term this node cannot decode: LOCAL_EXT, only its encoder can read it.
GARBAGE = b"y"


def packet(control: object, payload: bytes) -> bytes:
    data = b"p" + encode(control) + payload
    return struct.pack(">I", len(data)) + data


def frame(*terms: object) -> bytes:
    data = b"p" + b"".join(encode(t) for t in terms)
    return struct.pack(">I", len(data)) + data


def tuple_with_garbage(*first: object) -> bytes:
    """The payload `{First..., <undecodable>}`: its header decodes, its last element not."""
    head = bytes([131, 104, len(first) + 1])
    return head + b"".join(encode(t)[1:] for t in first) + GARBAGE


def peer_pid(dist: Distribution, id_: int) -> otp.Pid:
    """A pid of the peer, as the connection's decoder makes it."""
    return Distribution.pid_hook(dist, PEER, id_, 0, 7)


class Counter(otp.GenServer):
    def init(self, arg: object) -> int:
        return 0

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        return otp.Reply(("count", state), state + 1)


class TestRepliesToOurCalls:
    def test_an_undecodable_reply_through_the_alias_fails_the_call_with_undecodable(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            server = peer_pid(conn.dist, 5)
            call = asyncio.ensure_future(otp.call(server, "req", timeout=60.0))
            await wait_idle()
            [_, (_, message)] = wire.packets()
            assert isinstance(message, tuple)
            tag = message[1][1]
            wire.feed_data(packet((33, server, tag.tail), tuple_with_garbage(tag)))
            with pytest.raises(otp.Undecodable) as failed:
                await call
            conn.close()
            return failed.value.reason

        reason = clock.run(main)
        assert isinstance(reason, tuple) and reason[0] == "undecodable"
        assert "LOCAL_EXT" in reason[1]

    def test_an_undecodable_reply_by_plain_send_fails_the_call_too(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            server = peer_pid(conn.dist, 5)
            call = asyncio.ensure_future(otp.call(server, "req", timeout=60.0))
            await wait_idle()
            [_, (_, message)] = wire.packets()
            assert isinstance(message, tuple)
            wire.feed_data(packet((2, Atom(""), otp.self()), tuple_with_garbage(message[1][1])))
            with pytest.raises(otp.Undecodable) as failed:
                await call
            await wait_idle()
            ended = [p[0][0] for p in wire.packets()]  # type: ignore[index]
            conn.close()
            return isinstance(failed.value, otp.Exit), ended

        # The call's monitor ends (DEMONITOR_P 20), as after any reply.
        assert clock.run(main) == (True, [19, 2, 20])


class TestCallsFromThePeer:
    def test_an_undecodable_request_ends_the_callers_monitor_with_the_reason(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[list[tuple[object, ...]], otp.Ref, otp.Pid, object]:
            conn, wire = open_connection()
            server = await Counter.start(None, name="counter")
            assert server is not None
            caller = peer_pid(conn.dist, 9)
            ref = _new_ref(PEER, 7, (1, 2, 3))
            tag = ImproperList([Atom("alias")], ref)
            wire.feed_data(frame((19, caller, Atom("counter"), ref)))  # gen:call's monitor
            call = tuple_with_garbage(Atom("$gen_call"), (caller, tag))
            wire.feed_data(packet((6, caller, Atom(""), Atom("counter")), call))
            await wait_idle()
            written = wire.packets()
            conn.close()
            return written, ref, caller, await otp.call(server, "still here")

        with caplog.at_level(logging.ERROR, logger="otp"):
            written, ref, caller, after = clock.run(main)
        [(control, reason)] = written
        assert isinstance(control, tuple) and control[0] == 28  # PAYLOAD_MONITOR_P_EXIT
        assert control[1] == "counter" and repr(control[2]) == repr(caller) and control[3] == ref
        assert (
            isinstance(reason, tuple)
            and reason[0] == Atom("undecodable")
            and "LOCAL_EXT" in reason[1]
        )
        assert after == ("count", 0)  # the server never saw the request, and lives
        assert any(repr(caller) in r.getMessage() for r in caplog.records)

    def test_a_call_tagged_without_an_alias_ends_the_callers_one_monitor(
        self, clock: VirtualClock
    ) -> None:
        # Erlang's multi_call tags its calls {Ref, Node} and monitors apart.
        async def main() -> tuple[list[tuple[object, ...]], otp.Ref]:
            conn, wire = open_connection()
            server = await Counter.start(None)
            caller = peer_pid(conn.dist, 9)
            monitor = _new_ref(PEER, 7, (4,))
            wire.feed_data(frame((19, caller, server, monitor)))
            tag = (_new_ref(PEER, 7, (5,)), Atom(current_node().name))
            wire.feed_data(
                packet((2, Atom(""), server), tuple_with_garbage(Atom("$gen_call"), (caller, tag)))
            )
            await wait_idle()
            written = wire.packets()
            conn.close()
            return written, monitor

        [(control, _)], monitor = clock.run(main)
        assert isinstance(control, tuple) and control[0] == 28 and control[3] == monitor

    def test_a_call_without_a_monitor_is_logged_and_the_server_carries_on(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            server = await Counter.start(None)
            assert server is not None
            caller = peer_pid(conn.dist, 9)
            call = tuple_with_garbage(Atom("$gen_call"), (caller, _new_ref(PEER, 7, (5,))))
            wire.feed_data(packet((2, Atom(""), server), call))
            await wait_idle()
            written = wire.packets()
            conn.close()
            return written, await otp.call(server, "x")

        with caplog.at_level(logging.ERROR, logger="otp"):
            assert clock.run(main) == ([], ("count", 0))
        assert any("cannot be decoded" in r.getMessage() for r in caplog.records)


class TestOtherMessages:
    def test_the_target_gets_an_undecodable_message_with_the_sender(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[object, otp.Pid]:
            conn, wire = open_connection()
            sender = peer_pid(conn.dist, 3)
            wire.feed_data(packet((22, sender, otp.self()), b"\x83" + GARBAGE))
            msg = await otp.receive(timeout=60.0)
            conn.close()
            return msg, sender

        with caplog.at_level(logging.ERROR, logger="otp"):
            msg, sender = clock.run(main)
        assert isinstance(msg, otp.UndecodableMessage)
        assert msg.sender == sender and "LOCAL_EXT" in msg.description
        [record] = [r for r in caplog.records if "cannot be decoded" in r.getMessage()]
        assert repr(sender) in record.getMessage() and "LOCAL_EXT" in record.getMessage()

    def test_a_message_to_a_process_that_is_gone_is_only_logged(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            wire.feed_data(packet((6, peer_pid(conn.dist, 3), Atom(""), Atom("nobody")), b"\x83y"))
            wire.feed_data(frame((2, Atom(""), otp.self()), "after"))
            msg = await otp.receive(timeout=60.0)
            conn.close()
            return msg

        with caplog.at_level(logging.ERROR, logger="otp"):
            assert clock.run(main) == "after"
        assert any("cannot be decoded" in r.getMessage() for r in caplog.records)


class TestHeaders:
    def test_the_caller_and_tag_of_a_call_are_read_before_its_request(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, otp.Pid]:
            conn, _ = open_connection()
            caller = peer_pid(conn.dist, 9)
            data = tuple_with_garbage(Atom("$gen_call"), (caller, [1]))
            got = call_header(conn, data, 0, len(data)), caller
            conn.close()
            return got

        header, caller = clock.run(main)
        assert header == (caller, [1])

    @pytest.mark.parametrize(
        "data",
        [
            encode((Atom("$gen_cast"), 1, 2)),
            encode((Atom("$gen_call"), "not a from", 2)),
            encode((Atom("$gen_call"), 1)),
            b"\x83h\x03" + GARBAGE,
            b"",
        ],
        ids=["a cast", "no from", "arity 2", "garbage label", "empty"],
    )
    def test_what_is_not_a_call_has_no_header(self, data: bytes, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, _ = open_connection()
            got = call_header(conn, data, 0, len(data))
            conn.close()
            return got

        assert clock.run(main) is None

    def test_the_tag_of_a_reply_is_read_before_its_value(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, _ = open_connection()
            data = tuple_with_garbage("tag")
            got = reply_tag(conn, data, 0, len(data)), reply_tag(conn, encode(1), 0, 2)
            conn.close()
            return got

        assert clock.run(main) == ("tag", None)
