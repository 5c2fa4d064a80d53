"""Reading and writing a connection's frames: splitting, ticks, bursts, pausing, loss."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from fake_transport import Wire

import otp
from otp import Atom
from otp._runtime._ids import _new_ref
from otp._runtime._node_options import DistOptions
from otp._runtime._scheduler import current_node
from otp.distribution import ImproperList, encode
from otp.distribution._connection import Connection
from otp.distribution._framing import Framing
from otp.distribution._handshake import OUR_FLAGS
from otp.distribution._node import Distribution
from otp.testing import VirtualClock, wait_idle

PEER = "erl@host"
TICK = b"\0\0\0\0"


def framed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def packet(*terms: object) -> bytes:
    return framed(b"p" + b"".join(encode(t) for t in terms))


class Recorder(Framing):
    """Framing that keeps each packet it is handed and the reason it was lost."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.packets: list[bytes] = []
        self.reasons: list[str] = []

    def on_packet(self, data: bytes, start: int, end: int) -> None:
        assert type(data) is bytes  # what the codec decodes without a copy
        self.packets.append(data[start:end])

    def lost(self, reason: str) -> None:
        self.up = False
        self.reasons.append(reason)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def started(loop: asyncio.AbstractEventLoop, buffered: bytes = b"") -> tuple[Recorder, Wire]:
    framing, wire = Recorder(loop), Wire()
    framing.start(wire, buffered)
    return framing, wire


PACKETS = [b"p" + bytes(i % 256 for i in range(n)) for n in (1, 7, 300)]
STREAM = framed(PACKETS[0]) + TICK + framed(PACKETS[1]) + framed(PACKETS[2]) + TICK


class TestSplitting:
    def test_several_frames_in_one_chunk(self, loop: asyncio.AbstractEventLoop) -> None:
        framing, _ = started(loop)
        framing.data_received(STREAM)
        assert framing.packets == PACKETS
        assert framing.reads == 1

    @pytest.mark.parametrize("cut", range(1, len(STREAM)))
    def test_frames_cut_in_two_chunks_at_any_byte(
        self, cut: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, _ = started(loop)
        framing.data_received(STREAM[:cut])
        framing.data_received(STREAM[cut:])
        assert framing.packets == PACKETS

    def test_frames_arriving_one_byte_at_a_time(self, loop: asyncio.AbstractEventLoop) -> None:
        framing, _ = started(loop)
        for i in range(len(STREAM)):
            framing.data_received(STREAM[i : i + 1])
        assert framing.packets == PACKETS
        assert framing.reads == len(STREAM)  # each counts as data for the tick timeout

    def test_a_frame_larger_than_a_socket_read(self, loop: asyncio.AbstractEventLoop) -> None:
        big = b"p" + bytes(i % 251 for i in range(300_000))
        stream = framed(big) + framed(PACKETS[0])
        framing, _ = started(loop)
        step = 1 << 16
        for i in range(0, len(stream), step):
            framing.data_received(stream[i : i + step])
        assert framing.packets == [big, PACKETS[0]]

    def test_ticks_alone_are_counted_but_not_handed_over(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, wire = started(loop)
        framing.data_received(TICK * 3)
        framing.data_received(TICK[:2])
        framing.data_received(TICK[2:])
        assert (framing.packets, framing.reads) == ([], 3)
        assert not loop._ready  # type: ignore[attr-defined]  # no flush for a tick
        assert wire.writes == []

    def test_bytes_read_with_the_handshake_are_handed_over_first(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, _ = started(loop, buffered=STREAM[:10])
        framing.data_received(STREAM[10:])
        assert framing.packets == PACKETS

    def test_a_transport_paused_by_the_stream_resumes(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, wire = Recorder(loop), Wire()
        wire.pause_reading()
        framing.start(wire, b"")
        assert wire.is_reading()

    def test_losing_the_connection_mid_frame_drops_the_partial_frame(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, wire = started(loop)
        framing.data_received(STREAM[:-50])
        wire.lose(ConnectionResetError("reset by peer"))
        assert framing.packets == PACKETS[:2]
        assert framing.reasons == ["ConnectionResetError: reset by peer"]


class TestWriting:
    def test_frames_of_one_step_leave_in_one_write(self, loop: asyncio.AbstractEventLoop) -> None:
        framing, wire = started(loop)
        framing.write_frame(b"one")
        framing.write_frame(b"two")
        assert wire.writes == []
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert wire.writes == [b"onetwo"]

    def test_flush_now_writes_the_steps_frames_at_once_and_later_ones_together(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, wire = started(loop)
        framing.write_frame(b"monitor")
        framing.write_frame(b"call")
        framing.flush_now()  # a remote call, about to wait for its reply
        assert wire.writes == [b"monitorcall"]
        framing.write_frame(b"one")
        framing.write_frame(b"two")
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert wire.writes == [b"monitorcall", b"onetwo"]

    def test_flush_now_inside_a_burst_waits_for_its_end(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        class Calling(Recorder):
            def on_packet(self, data: bytes, start: int, end: int) -> None:
                super().on_packet(data, start, end)
                self.write_frame(b"re:" + data[start:end])
                self.flush_now()

        framing, wire = Calling(loop), Wire()
        framing.start(wire, b"")
        framing.data_received(framed(b"a") + framed(b"b"))
        assert wire.writes == [b"re:are:b"]

    def test_frames_of_a_burst_leave_at_its_end(self, loop: asyncio.AbstractEventLoop) -> None:
        class Answering(Recorder):
            def on_packet(self, data: bytes, start: int, end: int) -> None:
                super().on_packet(data, start, end)
                self.write_frame(b"re:" + data[start:end])

        framing, wire = Answering(loop), Wire()
        framing.start(wire, b"")
        framing.data_received(framed(b"a") + framed(b"b"))
        assert wire.writes == [b"re:are:b"]

    def test_while_paused_frames_wait_and_leave_together(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        framing, wire = started(loop)
        framing.pause_writing()
        framing.write_frame(b"one")
        loop.call_soon(loop.stop)
        loop.run_forever()
        framing.write_frame(b"two")
        assert wire.writes == []
        framing.resume_writing()
        assert wire.writes == [b"onetwo"]


# -- a connection, with its node -------------------------------------------------------


def open_connection() -> tuple[Connection, Wire]:
    node = current_node()
    dist = node.dist = Distribution(node, DistOptions(), b"cookie")
    conn = dist.conns[PEER] = Connection(dist, PEER)
    wire = Wire()
    conn.attach(asyncio.StreamReader(), wire.writer(), OUR_FLAGS)
    return conn, wire


def remote_pid(conn: Connection, id_: int) -> otp.Pid:
    return conn.dist.pid_hook(PEER, id_, 0, 7)


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(request, state)


class AsyncEcho(otp.GenServer):
    async def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        await asyncio.sleep(0)
        return otp.Reply(request, state)


def call(conn: Connection, n: int) -> bytes:
    """A `$gen_call` to `echo` from the peer, with an alias."""
    tag = ImproperList([Atom("alias")], _new_ref(PEER, 7, (n,)))
    caller = remote_pid(conn, 5)
    return packet((6, caller, Atom(""), Atom("echo")), (Atom("$gen_call"), (caller, tag), n))


class TestConnection:
    def test_an_inline_reply_leaves_before_data_received_returns(self, clock: VirtualClock) -> None:
        async def main() -> list[bytes]:
            conn, wire = open_connection()
            caller = remote_pid(conn, 5)
            ping = (Atom("$gen_call"), (caller, _new_ref(PEER, 7, (1,))), (Atom("is_auth"), PEER))
            monitor = (19, caller, Atom("nobody"), _new_ref(PEER, 7, (2,)))
            data = packet((6, caller, Atom(""), Atom("net_kernel")), ping) + packet(monitor)
            contextvars.Context().run(wire.deliver, data)
            writes = list(wire.writes)
            conn.close()
            return writes

        [written] = clock.run(main)  # the ping's answer and the DOWN, in one write
        assert written.count(b"yes") == 1 and written.count(b"noproc") == 1

    def test_calls_from_the_peer_are_answered_in_the_callback_that_read_them(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            conn, wire = open_connection()
            await Echo.start_link(None, name="echo")
            loop = asyncio.get_running_loop()
            seen: list[object] = []

            def received() -> None:  # as the transport calls it
                wire.deliver(call(conn, 1) + call(conn, 2))
                seen.append(len(wire.writes))
                loop.call_soon(lambda: seen.append(len(wire.writes)))

            loop.call_soon(received, context=contextvars.Context())
            await wait_idle()
            conn.close()
            return [*seen, len(wire.packets())]

        assert clock.run(main) == [1, 1, 2]  # both replies, in the callback's one write

    def test_a_server_that_answers_later_replies_in_the_iteration_it_answers_in(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            conn, wire = open_connection()
            await AsyncEcho.start_link(None, name="echo")
            loop = asyncio.get_running_loop()
            seen: list[object] = []

            def received() -> None:
                wire.deliver(call(conn, 1) + call(conn, 2))
                seen.append(len(wire.writes))

            loop.call_soon(received, context=contextvars.Context())
            await wait_idle()
            conn.close()
            return [*seen, len(wire.packets())]

        assert clock.run(main) == [0, 2]

    def test_a_term_running_past_its_packet_arrives_as_undecodable(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            me = otp.self()
            good = packet((2, Atom(""), me), "after")
            # A SEND whose length stops inside its payload: the decoder could
            # read on into the next frame, but the packet ends there.
            bad = b"p" + encode((2, Atom(""), me)) + encode("x" * 20)
            wire.feed_data(framed(bad[:-5]) + good)
            undecodable = await otp.receive(timeout=5.0)
            msg = await otp.receive(timeout=5.0)
            conn.close()
            return isinstance(undecodable, otp.UndecodableMessage), msg

        with caplog.at_level(logging.ERROR, logger="otp"):
            assert clock.run(main) == (True, "after")
        assert any("past the packet's end" in r.getMessage() for r in caplog.records)

    def test_losing_the_connection_mid_frame_fires_noconnection(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, wire = open_connection()
            otp.trap_exit(True)
            other = remote_pid(conn, 5)
            otp.link(other)
            whole = packet((2, Atom(""), otp.self()), "lost")
            wire.feed_data(whole[:-3])
            wire.feed_eof()
            return await otp.receive(timeout=5.0)

        got = clock.run(main)
        assert type(got) is otp.Exited and got.reason == "noconnection"
