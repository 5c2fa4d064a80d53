"""The embedded epmd: `EpmdServer`, an epmd written in Python.

`ensure_epmd` (in `otp.distribution._epmd`, which also exports `EpmdServer`) starts
one when neither a running epmd nor Erlang's `epmd` program is available, so
two Python nodes find each other on a machine without Erlang. The protocol it
serves is described in `otp.distribution._epmd_protocol`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import struct
import time
from dataclasses import dataclass
from types import TracebackType
from typing import final

from ._epmd_protocol import (
    _ALIVE2_FIELDS,
    _MAX_FORGOTTEN,
    _MAX_NAME_BYTES,
    _MAX_PACKET,
    _REFUSED_CREATION,
    _U16,
    _U32,
    ALIVE2_REQ,
    ALIVE2_RESP,
    ALIVE2_X_RESP,
    DUMP_REQ,
    KILL_REQ,
    NAMES_REQ,
    PORT2_RESP,
    PORT_PLEASE2_REQ,
    NodeInfo,
    default_port,
)

__all__ = ["EpmdHandle", "EpmdServer"]


@dataclass
class _Entry:
    """A name epmd knows: registered (`conn` holds it) or remembered for its creation."""

    info: NodeInfo
    counter: int  # the last creation handed out for this name
    conn: int  # the number of the connection that registered it

    @property
    def creation(self) -> int:
        # Version-5 nodes only understand creations 1..3.
        return self.counter if self.info.high_version >= 6 else self.counter % 3 + 1


def _next_creation(counter: int) -> int:
    """The creation after `counter`: 32 bits, skipping 0..3 (the old 2-bit creations)."""
    counter = (counter + 1) & 0xFFFFFFFF
    return counter if counter >= 4 else 4


def _parse_alive2(request: bytes) -> NodeInfo | None:
    """The node an ALIVE2 request describes, or None when the packet is malformed.

    A name that is not UTF-8 decodes with surrogates, so that `_valid_name`
    refuses it (epmd answers such a request with a refusal, not silence).
    """
    if len(request) <= 13:  # at least one byte of name
        return None
    port, node_type, protocol, high, low, nlen = _ALIVE2_FIELDS.unpack_from(request, 1)
    if nlen + 13 > len(request):
        return None
    (elen,) = _U16.unpack_from(request, 11 + nlen)
    raw_name = request[11 : 11 + nlen]
    if elen + nlen + 13 > len(request) or b"\0" in raw_name:
        return None
    name = raw_name.decode("utf-8", "surrogateescape")
    extra = request[13 + nlen : 13 + nlen + elen]
    return NodeInfo(name, port, node_type, protocol, high, low, extra)


def _valid_name(name: str) -> bool:
    """True for a name epmd accepts: 1 to 255 characters of valid UTF-8."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return 0 < len(name) <= 255 and len(encoded) <= _MAX_NAME_BYTES


def _is_local(writer: asyncio.StreamWriter) -> bool:
    """True when the peer is on this host: loopback, or our own address."""
    peer = writer.get_extra_info("peername")
    own = writer.get_extra_info("sockname")
    if not peer or not own:
        return False
    return bool(ipaddress.ip_address(peer[0]).is_loopback or peer[0] == own[0])


@final
class EpmdServer:
    """An epmd written in Python: answers the epmd protocol as Erlang's `epmd` does.

    Serves ALIVE2 (a name stays registered while the connection that
    registered it stays open; any further byte on it, or its end, unregisters
    the name), PORT_PLEASE2, NAMES, DUMP and KILL (refused with `NO` while
    names are registered, as `epmd` without `-relaxed_command_check`).
    Creations are 32-bit, never 0..3, start from the clock and change each
    time a name registers again, as `epmd` does. Start it with
    `await EpmdServer.start()`; it stops with `close()` or a KILL request.
    """

    host: str
    port: int

    def __init__(self, host: str, packet_timeout: float) -> None:
        self.host = host
        self.port = 0
        self._packet_timeout = packet_timeout
        self._server: asyncio.Server | None = None
        self._registered: dict[str, _Entry] = {}  # in registration order
        self._forgotten: dict[str, _Entry] = {}  # unregistered names, oldest first
        self._clients: dict[asyncio.Task[object], asyncio.StreamWriter] = {}
        self._conn_numbers = itertools.count(1)
        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()

    @classmethod
    async def start(
        cls, *, port: int | None = None, host: str = "127.0.0.1", packet_timeout: float = 60.0
    ) -> EpmdServer:
        """Listen on `host:port` (port 0: any free port; see `.port`) and serve epmd.

        `port` defaults to `default_port()`. A connection that sends no
        complete request within `packet_timeout` seconds is closed.

        Raises:
            OSError: the port is taken (usually by another epmd) or `host` is not ours.
        """
        self = cls(host, packet_timeout)
        self._server = await asyncio.start_server(
            self._serve, host, default_port() if port is None else port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def registered(self) -> list[NodeInfo]:
        """The registered nodes, most recent first (the order of NAMES answers)."""
        return [entry.info for entry in reversed(self._registered.values())]

    async def wait_unregistered(self, name: str) -> None:
        """Wait until no node named `name` is registered (at once if none is)."""
        while name in self._registered:
            await self._changed.wait()

    async def wait_closed(self) -> None:
        """Wait until the server stopped: `close()` ran or a KILL request was obeyed."""
        await self._stopped.wait()

    @property
    def closed(self) -> bool:
        """True once the server stopped."""
        return self._stopped.is_set()

    async def close(self) -> None:
        """Stop listening and close every connection (unregistering every name)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        # Closing a connection ends its handler (it reads the end of the stream),
        # and the end of a registering connection unregisters its name.
        # (A KILL request closes the server from its own handler: skip that one.)
        me = asyncio.current_task()
        clients = {task: writer for task, writer in self._clients.items() if task is not me}
        for writer in clients.values():
            writer.close()
        await asyncio.gather(*clients, return_exceptions=True)
        await server.wait_closed()
        self._stopped.set()

    async def __aenter__(self) -> EpmdServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._registered)} registered"
        return f"<EpmdServer {self.host}:{self.port} {state}>"

    # -- one connection: read a request, answer it, close (ALIVE2: hold) --

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients[task] = writer
        try:
            request = await self._read_request(reader)
            if request:
                await self._answer(request, reader, writer, task)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        finally:
            del self._clients[task]
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        """One `Len:16 | Request` packet, or None for a size epmd rejects or a silent peer."""
        try:
            async with asyncio.timeout(self._packet_timeout):
                (size,) = _U16.unpack(await reader.readexactly(2))
                if size < 1 or size + 2 >= _MAX_PACKET:
                    return None
                return await reader.readexactly(size)
        except TimeoutError:
            return None

    async def _answer(
        self,
        request: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        task: asyncio.Task[object],
    ) -> None:
        tag = request[0]
        # Like epmd, requests that change state are only taken from this host;
        # a malformed request gets no answer, just the connection closed.
        if tag == ALIVE2_REQ and _is_local(writer):
            await self._alive2(request, reader, writer)
        elif tag == PORT_PLEASE2_REQ:
            writer.write(self._port2(request))
        elif tag == NAMES_REQ:
            writer.write(self._names_reply())
        elif tag == DUMP_REQ and _is_local(writer):
            writer.write(self._dump_reply())
        elif tag == KILL_REQ and _is_local(writer):
            obeyed = not self._registered
            writer.write(b"OK" if obeyed else b"NO")
            await writer.drain()
            if obeyed:
                writer.close()
                await self.close()
            return
        # STOP_REQ needs `epmd -relaxed_command_check`, which this server does not offer.
        await writer.drain()

    async def _alive2(
        self, request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        info = _parse_alive2(request)
        if info is None:
            return  # malformed: epmd closes without answering
        entry = self._add(info, next(self._conn_numbers))
        result, creation = (1, _REFUSED_CREATION) if entry is None else (0, entry.creation)
        if info.high_version >= 6:
            writer.write(struct.pack(">BBI", ALIVE2_X_RESP, result, creation))
        else:
            writer.write(struct.pack(">BBH", ALIVE2_RESP, result, creation & 0xFFFF))
        try:
            await writer.drain()
            # Hold the connection: its end (or any byte on it) ends the registration.
            await reader.read(1)
        finally:
            if entry is not None:
                self._remove(entry)

    def _add(self, info: NodeInfo, conn: int) -> _Entry | None:
        """Register `info` for connection `conn`; None when epmd would refuse it."""
        name = info.name
        if name in self._registered or not _valid_name(name) or len(info.extra) > _MAX_NAME_BYTES:
            return None
        previous = self._forgotten.pop(name, None)
        # A name seen before gets the next creation; a new one starts from the clock.
        start = int(time.time()) if previous is None else previous.counter
        entry = _Entry(info, _next_creation(start), conn)
        self._registered[name] = entry
        self._notify()
        return entry

    def _remove(self, entry: _Entry) -> None:
        name = entry.info.name
        if self._registered.get(name) is not entry:
            return
        del self._registered[name]
        self._forgotten[name] = entry
        if len(self._forgotten) > _MAX_FORGOTTEN:
            del self._forgotten[next(iter(self._forgotten))]
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _port2(self, request: bytes) -> bytes:
        """The PORT2_RESP answer; empty (no answer) for a name epmd finds malformed."""
        raw_name = request[1:-1] if request.endswith(b"\0") else request[1:]
        name = raw_name.decode("utf-8", "surrogateescape")
        if b"\0" in raw_name or not _valid_name(name):
            return b""
        entry = self._registered.get(name)
        if entry is None:
            return bytes([PORT2_RESP, 1])
        info = entry.info
        encoded = info.name.encode("utf-8")
        fields = _ALIVE2_FIELDS.pack(
            info.port, info.node_type, info.protocol, info.high_version, info.low_version,
            len(encoded),
        )  # fmt: skip
        extra = _U16.pack(len(info.extra)) + info.extra
        return bytes([PORT2_RESP, 0]) + fields + encoded + extra

    def _names_reply(self) -> bytes:
        lines = (f"name {info.name} at port {info.port}\n" for info in self.registered())
        return _U32.pack(self.port) + "".join(lines).encode("utf-8")

    def _dump_reply(self) -> bytes:
        active = (
            f"active name     <{e.info.name}> at port {e.info.port}, fd = {e.conn}\n\0"
            for e in reversed(self._registered.values())
        )
        old = (
            f"old/unused name <{e.info.name}>, port = {e.info.port}, fd = {e.conn} \n\0"
            for e in self._forgotten.values()
        )
        return _U32.pack(self.port) + "".join(itertools.chain(active, old)).encode("utf-8")


EpmdHandle = EpmdServer
"""What `ensure_epmd` returns when it started an embedded epmd: close it to stop it."""
