"""The distribution handshake, over scripted in-memory streams."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import cast

import pytest

from otp._runtime._node_options import DistOptions
from otp._runtime._scheduler import current_node
from otp.distribution._connection import Connection
from otp.distribution._handshake import (
    MANDATORY_26,
    OUR_FLAGS,
    PUBLISHED,
    HandshakeError,
    Peer,
    accept,
    digest,
    initiate,
)
from otp.distribution._node import Distribution
from otp.distribution._setup import accepted
from otp.distribution._tls import Packet4
from otp.testing import VirtualClock


class Pipe:
    """A writer whose bytes arrive in another side's reader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.sent = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data
        self.reader.feed_data(data)

    async def drain(self) -> None:
        return None


def streams() -> tuple[asyncio.StreamReader, Pipe, asyncio.StreamReader, Pipe]:
    """(a's reader, a's writer, b's reader, b's writer), connected to each other."""
    a_in, b_in = asyncio.StreamReader(), asyncio.StreamReader()
    return a_in, Pipe(b_in), b_in, Pipe(a_in)


def messages(data: bytes | bytearray) -> list[bytes]:
    """The handshake messages in `data` (each framed with a 2-byte length)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        (n,) = struct.unpack_from(">H", data, pos)
        out.append(bytes(data[pos + 2 : pos + 2 + n]))
        pos += 2 + n
    return out


def ok(_: str) -> str:
    return "ok"


async def both(
    a_cookie: bytes = b"c",
    b_cookie: bytes = b"c",
    decide: Callable[[str], str] = ok,
    on_alive: Callable[..., None] | None = None,
) -> tuple[Peer | BaseException, Peer | BaseException, Pipe]:
    """Run both sides; the acceptor closes its end when it is done, as a socket would."""
    a_in, a_out, b_in, b_out = streams()

    async def acceptor() -> Peer:
        try:
            flags = OUR_FLAGS | PUBLISHED
            return await accept(b_in, b_out, "b@h", 22, b_cookie, flags, decide, on_alive)
        finally:
            a_in.feed_eof()

    a, b = await asyncio.gather(
        initiate(a_in, a_out, "a@h", 11, a_cookie, OUR_FLAGS), acceptor(), return_exceptions=True
    )
    return a, b, a_out


class TestInitiateAndAccept:
    def test_both_sides_learn_the_other_and_share_the_common_flags(self) -> None:
        a, b, _ = asyncio.run(both())
        assert a == Peer("b@h", OUR_FLAGS, 22, published=True)
        assert b == Peer("a@h", OUR_FLAGS, 11, published=False)

    def test_send_name_is_the_version_6_message(self) -> None:
        _, _, sent = asyncio.run(both())
        name_msg = bytes(sent.sent[: 2 + 15 + 3])
        assert name_msg == struct.pack(">HcQIH", 18, b"N", OUR_FLAGS, 11, 3) + b"a@h"

    def test_a_wrong_cookie_is_refused_and_logged_without_secrets(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="otp"):
            _, b, _ = asyncio.run(both(a_cookie=b"wrong-one", b_cookie=b"right-one"))
        assert isinstance(b, HandshakeError)
        [record] = caplog.records
        text = record.getMessage()
        assert "'a@h'" in text and "cookie" in text
        assert "wrong-one" not in text and "right-one" not in text

    def test_a_peer_without_the_mandatory_flags_is_not_allowed(self) -> None:
        async def run() -> tuple[object, bytes]:
            _, a_out, b_in, b_out = streams()
            a_out.write(struct.pack(">HcQIH", 18, b"N", MANDATORY_26 & ~0x4, 11, 3) + b"a@h")
            result = await asyncio.gather(
                accept(b_in, b_out, "b@h", 22, b"c", OUR_FLAGS, ok), return_exceptions=True
            )
            return result[0], bytes(b_out.sent)

        error, answer = asyncio.run(run())
        assert isinstance(error, HandshakeError)
        assert answer == b"\x00\x0csnot_allowed"

    def test_nok_from_the_acceptor_stops_the_initiator(self) -> None:
        a, b, _ = asyncio.run(both(decide=lambda name: "nok"))
        assert isinstance(b, HandshakeError)
        assert isinstance(a, HandshakeError)
        assert str(a).endswith(": nok")


class TestAlive:
    """Status `alive`: the acceptor is still connected to a node of the initiator's name."""

    def test_a_wrong_cookie_leaves_the_old_connection_alone(self) -> None:
        told: list[object] = []

        def on_alive(*args: object) -> None:
            told.append(args)

        a, b, _ = asyncio.run(
            both(a_cookie=b"wrong", decide=lambda name: "alive", on_alive=on_alive)
        )
        assert isinstance(a, asyncio.IncompleteReadError | HandshakeError)
        assert isinstance(b, HandshakeError)
        assert told == []

    def test_the_old_connection_is_replaced_once_the_cookie_is_proved_before_the_ack(
        self,
    ) -> None:
        told: list[tuple[object, list[bytes]]] = []
        sent: list[Pipe] = []

        def on_alive(name: object, *_: object) -> None:
            told.append((name, [m[:1] for m in messages(sent[0].sent)]))

        async def run() -> tuple[Peer | BaseException, Peer | BaseException]:
            a_in, a_out, b_in, b_out = streams()
            sent.append(b_out)
            alive = accept(b_in, b_out, "b@h", 22, b"c", OUR_FLAGS, lambda n: "alive", on_alive)
            a, b = await asyncio.gather(
                initiate(a_in, a_out, "a@h", 11, b"c", OUR_FLAGS), alive, return_exceptions=True
            )
            return a, b

        a, b = asyncio.run(run())
        assert a == Peer("b@h", OUR_FLAGS, 22) and b == Peer("a@h", OUR_FLAGS, 11)
        # Told after the status and the challenge, before the ack.
        assert told == [("a@h", [b"s", b"N"])]
        assert [m[:1] for m in messages(sent[0].sent)] == [b"s", b"N", b"a"]

    def test_an_initiator_answering_false_is_refused(self) -> None:
        told: list[object] = []

        def on_alive(*args: object) -> None:
            told.append(args)

        async def run() -> BaseException | Peer:
            _, a_out, b_in, b_out = streams()
            a_out.write(struct.pack(">HcQIH", 18, b"N", OUR_FLAGS, 11, 3) + b"a@h")
            a_out.write(b"\x00\x06sfalse")
            [result] = await asyncio.gather(
                accept(b_in, b_out, "b@h", 22, b"c", OUR_FLAGS, lambda n: "alive", on_alive),
                return_exceptions=True,
            )
            return result

        assert isinstance(asyncio.run(run()), HandshakeError)
        assert told == []


def test_digest_is_md5_of_cookie_and_decimal_challenge() -> None:
    import hashlib

    assert digest(b"cookie", 42) == hashlib.md5(b"cookie42").digest()


class _Writer:
    """The acceptor's stream writer: what it writes goes to the initiator's reader."""

    def __init__(self, peer: asyncio.StreamReader | None = None) -> None:
        self.peer = peer
        self.sent = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent += data
        if self.peer is not None:
            self.peer.feed_data(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True
        if self.peer is not None:
            self.peer.feed_eof()

    def get_extra_info(self, name: str) -> object:
        return ("192.0.2.1", 4369) if name == "peername" else None


def _distribution(name: str = "b@h") -> Distribution:
    node = current_node()
    dist = Distribution(node, DistOptions(), b"c")
    dist.name = name
    return dist


async def _accepted(dist: Distribution, reader: asyncio.StreamReader, writer: _Writer) -> None:
    await accepted(dist, reader, cast(asyncio.StreamWriter, writer))


class TestUnauthenticatedPeers:
    """What a peer that has not proved the cookie can do to the accepting node: nothing."""

    def test_a_silent_peer_is_dropped_after_the_setup_time(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, dict[str, object]]:
            dist, writer = _distribution(), _Writer()
            await _accepted(dist, asyncio.StreamReader(), writer)  # the virtual clock runs on
            return writer.closed, dict(dist.conns)

        assert clock.run(main) == (True, {})

    def test_a_peer_that_stops_inside_a_message_is_dropped(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bytes]:
            dist, writer, reader = _distribution(), _Writer(), asyncio.StreamReader()
            reader.feed_data(b"\xff\xff" + b"N" * 100)  # 65,535 bytes announced, 100 sent
            await _accepted(dist, reader, writer)
            return writer.closed, bytes(writer.sent)

        assert clock.run(main) == (True, b"")

    @pytest.mark.parametrize("state", ["up", "connecting"])
    def test_a_wrong_cookie_leaves_the_connection_table_alone(
        self, clock: VirtualClock, state: str
    ) -> None:
        # "up": status alive (a node of that name is connected); "connecting": both
        # nodes dial at once. Either way an impostor without the cookie changes nothing.
        async def main() -> tuple[object, bool, str]:
            dist = _distribution()
            old = dist.conns["z@h"] = Connection(dist, "z@h")
            old.state = state
            a_in, b_in = asyncio.StreamReader(), asyncio.StreamReader()
            writer = _Writer(a_in)
            impostor = initiate(a_in, Pipe(b_in), "z@h", 11, b"wrong", OUR_FLAGS)
            got, _ = await asyncio.gather(
                impostor, _accepted(dist, b_in, writer), return_exceptions=True
            )
            kept = dist.conns == {"z@h": old} and old.state == state
            old.state = "closed"
            return type(got), kept, messages(writer.sent)[0].decode()

        assert clock.run(main) == (
            asyncio.IncompleteReadError,
            True,
            "salive" if state == "up" else "sok_simultaneous",
        )

    @pytest.mark.parametrize("name", ["nohost", "@h", "a@", "a@b@c", "a\udcff@h"])
    def test_a_name_that_is_not_a_node_name_is_not_allowed(
        self, clock: VirtualClock, name: str
    ) -> None:
        async def main() -> tuple[str, dict[str, object]]:
            dist = _distribution()
            a_in, b_in = asyncio.StreamReader(), asyncio.StreamReader()
            raw = name.encode("utf-8", "surrogateescape")
            b_in.feed_data(struct.pack(">HcQIH", 15 + len(raw), b"N", OUR_FLAGS, 11, len(raw)))
            b_in.feed_data(raw)
            writer = _Writer(a_in)
            await _accepted(dist, b_in, writer)
            return messages(writer.sent)[0].decode(), dict(dist.conns)

        assert clock.run(main) == ("snot_allowed", {})

    def test_a_tls_hello_to_a_plain_node_is_refused_at_once_and_logged(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[bool, bytes]:
            dist, writer, reader = _distribution(), _Writer(), asyncio.StreamReader()
            reader.feed_data(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello
            await _accepted(dist, reader, writer)
            return writer.closed, bytes(writer.sent)

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert clock.run(main) == (True, b"")
        assert "the peer speaks TLS, and this node does not" in caplog.text
        assert "192.0.2.1" in caplog.text


class TestInsideTLS:
    """The handshake inside TLS: 4-byte lengths (`Packet4`), as inet_tls_dist frames it."""

    def test_both_sides_complete_the_handshake_with_4_byte_lengths(self) -> None:
        async def run() -> tuple[Peer, Peer, bytes]:
            a_in, a_out, b_in, b_out = streams()
            a = Packet4(a_in, cast(asyncio.StreamWriter, a_out))
            b = Packet4(b_in, cast(asyncio.StreamWriter, b_out))
            pa, pb = await asyncio.gather(
                initiate(a, a, "a@h", 11, b"c", OUR_FLAGS),
                accept(b, b, "b@h", 22, b"c", OUR_FLAGS, ok),
            )
            return pa, pb, bytes(a_out.sent)

        pa, pb, sent = asyncio.run(run())
        assert (pa.name, pb.name) == ("b@h", "a@h")
        # The first message, send_name for "a@h": 18 bytes after a 4-byte length.
        assert sent[:5] == struct.pack(">I", 18) + b"N"

    def test_a_message_over_65535_bytes_is_refused_before_it_is_read(self) -> None:
        async def run() -> BaseException | Peer:
            reader = asyncio.StreamReader()
            reader.feed_data(struct.pack(">I", 1 << 20))  # a megabyte announced, none sent
            framed = Packet4(reader, cast(asyncio.StreamWriter, _Writer()))
            [got] = await asyncio.gather(
                accept(framed, framed, "b@h", 22, b"c", OUR_FLAGS, ok), return_exceptions=True
            )
            return got

        got = asyncio.run(run())
        assert isinstance(got, HandshakeError) and "more than the 65,535" in str(got)
