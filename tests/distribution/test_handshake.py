"""The distribution handshake, over scripted in-memory streams."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable

import pytest

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
        assert a == Peer("b@h", OUR_FLAGS, 22)
        assert b == Peer("a@h", OUR_FLAGS, 11)

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
