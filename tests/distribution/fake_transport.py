"""A scripted transport for a connection: what it writes is kept, what the peer sends is fed."""

from __future__ import annotations

import asyncio
import contextvars
import struct
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

from otp.distribution import decode_from


class Wire(asyncio.Transport):
    """The socket of a connection: keeps what is written, delivers what the peer sends.

    `feed_data` delivers in a later loop step, in a context of its own, as a
    socket's transport calls `data_received`; `deliver` does it at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.writes: list[bytes] = []  # each write, as it was made
        self.closed = False
        self.reading = True
        self.protocol: asyncio.BaseProtocol | None = None
        self.on_write: Callable[[], None] | None = None  # the peer, answering
        self._ctx = contextvars.Context()

    # -- what the connection calls -----------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data
        self.writes.append(bytes(data))
        if self.on_write is not None:
            self.on_write()

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def is_reading(self) -> bool:
        return self.reading

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def writer(self) -> asyncio.StreamWriter:
        """A stand-in for the handshake's stream writer (all `attach` reads is its transport)."""
        return cast(asyncio.StreamWriter, SimpleNamespace(transport=self))

    # -- the peer ----------------------------------------------------------------------

    def feed_data(self, data: bytes) -> None:
        """Bytes from the peer, delivered in a later loop step."""
        asyncio.get_running_loop().call_soon(self.deliver, data, context=self._ctx)

    def feed_eof(self) -> None:
        """The peer closes the connection (seen in a later loop step)."""
        asyncio.get_running_loop().call_soon(self.lose, None, context=self._ctx)

    def deliver(self, data: bytes) -> None:
        """Bytes from the peer, handed to the protocol now."""
        protocol = self.protocol
        assert isinstance(protocol, asyncio.Protocol)
        protocol.data_received(data)

    def lose(self, exc: Exception | None) -> None:
        """The connection is lost (with `exc`: an error), as the protocol hears it now."""
        self.closed = True
        assert self.protocol is not None
        self.protocol.connection_lost(exc)

    # -- what was written ----------------------------------------------------------------

    def packets(self) -> list[tuple[object, ...]]:
        """Every packet written so far as (control, payload...) tuples; ticks are ()."""
        out: list[tuple[object, ...]] = []
        pos = 0
        while pos < len(self.data):
            (n,) = struct.unpack_from(">I", self.data, pos)
            packet = bytes(self.data[pos + 4 : pos + 4 + n])
            pos += 4 + n
            terms: list[object] = []
            at = 1
            while packet and at < len(packet):
                term, at = decode_from(packet, at)
                terms.append(term)
            out.append(tuple(terms))
        return out


__all__ = ["Wire"]
