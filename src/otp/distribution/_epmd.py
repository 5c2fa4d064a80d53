"""epmd, the Erlang Port Mapper Daemon: register this node's name, find other nodes.

Every distributed node listens for distribution connections on a TCP port of
its own choosing and tells the epmd of its host (TCP port 4369, or
`$ERL_EPMD_PORT`) its name and that port. A node that wants to connect to
`name@host` first asks the epmd on `host` which port `name` listens on.

This module speaks the epmd protocol as a client (`register`, `port_please`,
`names`) and can serve it (`EpmdServer`), so two Python nodes find each other
on a machine without Erlang. `ensure_epmd` picks: an epmd that already
answers, else the system's `epmd` (it comes with Erlang), else an embedded
`EpmdServer`.

>>> import asyncio
>>> async def main():
...     async with await EpmdServer.start(port=0) as epmd:
...         async with await register("py", 9100, epmd_port=epmd.port) as registration:
...             info = await port_please("py", epmd_port=epmd.port)
...             listed = await names(epmd_port=epmd.port)
...         return registration.creation > 0, info.port, info.name, listed
>>> asyncio.run(main())
(True, 9100, 'py', [('py', 9100)])

A registration lasts as long as its TCP connection to epmd: closing the
`Registration` (or the process exiting) unregisters the name.

The protocol (request and answer formats) is described in
`otp.distribution._epmd_protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Final, Literal, TypeVar, final

from ._epmd_protocol import (
    _ALIVE2_FIELDS,
    _U16,
    _U32,
    ALIVE2_REQ,
    ALIVE2_RESP,
    ALIVE2_X_RESP,
    DEFAULT_PORT,
    DIST_VERSION,
    HIDDEN_NODE,
    NAMES_REQ,
    NORMAL_NODE,
    PORT2_RESP,
    PORT_PLEASE2_REQ,
    TCP_IPV4,
    EpmdError,
    EpmdUnavailable,
    NameTaken,
    NodeInfo,
    _encode_name,
    _frame,
    default_port,
)
from ._epmd_server import EpmdHandle, EpmdServer

__all__ = [
    "DEFAULT_PORT",
    "EpmdError",
    "EpmdHandle",
    "EpmdServer",
    "EpmdUnavailable",
    "NameTaken",
    "NodeInfo",
    "Registration",
    "default_port",
    "ensure_epmd",
    "names",
    "port_please",
    "register",
]

TIMEOUT: Final = 5.0
"""Seconds a client waits for epmd to accept a connection and answer."""

_NAMES_LINE: Final = re.compile(r"name (.+) at port (\d+)")
_T = TypeVar("_T")


async def _connect(
    host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to epmd, waiting at most `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(host, port)
    except TimeoutError:
        raise EpmdUnavailable(host, port, f"no connection within {timeout} s") from None
    except OSError as exc:
        raise EpmdUnavailable(host, port, exc.strerror or str(exc)) from exc


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@contextlib.asynccontextmanager
async def _talking(host: str, port: int, timeout: float) -> AsyncIterator[None]:
    """Bound an exchange with epmd by `timeout` and turn its failures into EpmdErrors."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError:
        raise EpmdUnavailable(host, port, f"no answer within {timeout} s") from None
    except asyncio.IncompleteReadError:
        raise EpmdError(
            f"epmd at {host}:{port} closed the connection before answering in full "
            "(epmd takes registrations only from its own host)"
        ) from None
    except OSError as exc:
        raise EpmdUnavailable(host, port, exc.strerror or str(exc)) from exc


async def _ask(
    host: str,
    port: int,
    request: bytes,
    timeout: float,
    read: Callable[[asyncio.StreamReader], Awaitable[_T]],
) -> _T:
    """Send one request on a fresh connection and `read` the answer."""
    reader, writer = await _connect(host, port, timeout)
    try:
        async with _talking(host, port, timeout):
            writer.write(_frame(request))
            await writer.drain()
            return await read(reader)
    finally:
        await _close(writer)


async def _read_port2(reader: asyncio.StreamReader) -> NodeInfo | None:
    tag, result = await reader.readexactly(2)
    if tag != PORT2_RESP:
        raise EpmdError(f"epmd answered PORT_PLEASE2 with tag {tag}, not {PORT2_RESP}")
    if result != 0:
        return None
    port, node_type, protocol, high, low, nlen = _ALIVE2_FIELDS.unpack(
        await reader.readexactly(_ALIVE2_FIELDS.size)
    )
    name = (await reader.readexactly(nlen)).decode("utf-8", "replace")
    (elen,) = _U16.unpack(await reader.readexactly(2))
    extra = await reader.readexactly(elen)
    return NodeInfo(name, port, node_type, protocol, high, low, extra)


async def _read_names(reader: asyncio.StreamReader) -> list[tuple[str, int]]:
    await reader.readexactly(4)  # epmd's own port
    text = (await reader.read()).decode("utf-8", "replace")
    found = (_NAMES_LINE.fullmatch(line) for line in text.splitlines())
    return [(m[1], int(m[2])) for m in found if m is not None]


async def _read_alive2(reader: asyncio.StreamReader) -> tuple[int, int]:
    """`(result, creation)` from ALIVE2_X_RESP, or the 16-bit ALIVE2_RESP of old epmds."""
    tag, result = await reader.readexactly(2)
    if tag == ALIVE2_X_RESP:
        return result, _U32.unpack(await reader.readexactly(4))[0]
    if tag == ALIVE2_RESP:
        return result, _U16.unpack(await reader.readexactly(2))[0]
    raise EpmdError(f"epmd answered ALIVE2 with tag {tag}, not {ALIVE2_X_RESP}")


@final
class Registration:
    """This node's name registered with epmd; it lasts until `close()`.

    epmd keeps the name while the TCP connection that registered it stays
    open, so keep this object for the node's lifetime. `creation` is the
    32-bit incarnation number epmd assigned (never 0): the node puts it in
    its handshake and in every pid and reference it creates.
    """

    name: str
    port: int
    creation: int
    hidden: bool

    def __init__(
        self,
        name: str,
        port: int,
        creation: int,
        hidden: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.name = name
        self.port = port
        self.creation = creation
        self.hidden = hidden
        self._reader = reader
        self._writer = writer

    @property
    def closed(self) -> bool:
        """True once `close()` ran or epmd dropped the connection."""
        return self._writer.is_closing() or self._reader.at_eof()

    async def close(self) -> None:
        """Unregister the name by closing the connection to epmd (idempotent)."""
        await _close(self._writer)

    async def wait_lost(self) -> None:
        """Wait until the registration ends: `close()` was called or epmd went away.

        An epmd that stops (an embedded one whose program exited, or
        `epmd -kill`) forgets the name; the node should then register again.
        Cancelling this wait leaves the registration as it is.
        """
        with contextlib.suppress(OSError):
            while await self._reader.read(64):
                pass  # epmd never sends anything after its answer: ignore it
        await self.close()

    async def __aenter__(self) -> Registration:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<Registration {self.name!r} port {self.port} creation {self.creation} "
            f"{'hidden' if self.hidden else 'normal'} {state}>"
        )


async def register(
    name: str,
    port: int,
    *,
    hidden: bool = True,
    host: str = "127.0.0.1",
    epmd_port: int | None = None,
    timeout: float = TIMEOUT,
) -> Registration:
    """Register node `name` (the part before `@`) as listening on TCP `port`.

    Announces distribution version 6 as highest and lowest (OTP 25+ accept
    nothing older), protocol TCP/IPv4, and node type 72 (hidden) or 77
    (normal). Waits at most `timeout` seconds for epmd to answer; the
    returned `Registration` keeps the connection open, and closing it
    unregisters the name. If the caller is cancelled while waiting, the
    connection is closed and nothing stays registered.

    Args:
        name: the node name without the host, e.g. `"py"` for `py@127.0.0.1`.
        port: the TCP port the node accepts distribution connections on.
        hidden: register as a hidden node (type 72) rather than a normal one (77).
        host: where epmd runs; a node registers with the epmd of its own host.
        epmd_port: epmd's port; default `default_port()`.
        timeout: seconds to wait for the connection and the answer.

    Raises:
        NameTaken: another node has registered `name`.
        EpmdUnavailable: no epmd answered in time.
        EpmdError: epmd answered something unexpected.
        ValueError: `name` contains `@`, is empty or too long; `port` is out of range.
    """
    encoded = _encode_name(name)
    if not 0 < port < 65536:
        raise ValueError(f"the node's port must be 1-65535; got {port}")
    epmd_port = default_port() if epmd_port is None else epmd_port
    node_type = HIDDEN_NODE if hidden else NORMAL_NODE
    request = (
        bytes([ALIVE2_REQ])
        + _ALIVE2_FIELDS.pack(port, node_type, TCP_IPV4, DIST_VERSION, DIST_VERSION, len(encoded))
        + encoded
        + _U16.pack(0)  # no extra data
    )
    reader, writer = await _connect(host, epmd_port, timeout)
    try:
        async with _talking(host, epmd_port, timeout):
            writer.write(_frame(request))
            await writer.drain()
            result, creation = await _read_alive2(reader)
        if result != 0:
            raise NameTaken(name, host, epmd_port)
    except BaseException:
        await _close(writer)  # nothing stays registered
        raise
    return Registration(name, port, creation, hidden, reader, writer)


async def port_please(
    name: str,
    host: str = "127.0.0.1",
    *,
    epmd_port: int | None = None,
    timeout: float = TIMEOUT,
) -> NodeInfo | None:
    """Ask the epmd on `host` where node `name` (the part before `@`) listens.

    Returns the node's `NodeInfo`, or None when no node of that name is
    registered there. Waits at most `timeout` seconds.

    Raises:
        EpmdUnavailable: no epmd answered at `host` in time.
        EpmdError: epmd answered something unexpected.
        ValueError: `name` contains `@`, is empty or too long.
    """
    request = bytes([PORT_PLEASE2_REQ]) + _encode_name(name)
    epmd_port = default_port() if epmd_port is None else epmd_port
    return await _ask(host, epmd_port, request, timeout, _read_port2)


async def names(
    host: str = "127.0.0.1", *, epmd_port: int | None = None, timeout: float = TIMEOUT
) -> list[tuple[str, int]]:
    """The `(name, port)` of every node registered with the epmd on `host`.

    epmd lists the most recent registration first. Waits at most `timeout`
    seconds.

    Raises:
        EpmdUnavailable: no epmd answered at `host` in time.
    """
    epmd_port = default_port() if epmd_port is None else epmd_port
    return await _ask(host, epmd_port, bytes([NAMES_REQ]), timeout, _read_names)


# ---------------------------------------------------------------------------
# Finding or starting an epmd.


async def _answers(host: str, port: int, timeout: float) -> bool:
    """True when an epmd answers a NAMES request at `host:port`."""
    try:
        await _ask(host, port, bytes([NAMES_REQ]), timeout, _read_names)
    except EpmdError:
        return False
    return True


async def _start_system_epmd(program: str, host: str, port: int, timeout: float) -> None:
    """Run `epmd -port P -daemon` and wait (at most `timeout` seconds) until it answers.

    The daemon binds its port a moment after the command returns, and tells
    nobody when: so ask it, with growing pauses, until it answers.
    """
    process = await asyncio.create_subprocess_exec(
        program,
        "-port",
        str(port),
        "-daemon",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await process.wait() != 0:
        raise EpmdUnavailable(host, port, f"`{program} -daemon` failed ({process.returncode})")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = 0.005
    while not await _answers(host, port, timeout):
        if loop.time() >= deadline:
            raise EpmdUnavailable(host, port, f"`{program} -daemon` did not answer in {timeout} s")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)


async def ensure_epmd(
    host: str = "127.0.0.1",
    *,
    port: int | None = None,
    prefer: Literal["auto", "system", "embedded"] = "auto",
    timeout: float = TIMEOUT,
) -> EpmdHandle | None:
    """Make sure an epmd answers on this host, starting one if needed.

    In order: an epmd that already answers at `host:port` is used (returns
    None); else, unless `prefer="embedded"`, the system's `epmd` is started
    as a daemon, as `erl` does (returns None: it outlives this program);
    else an embedded `EpmdServer` listens on `host:port` and is returned:
    close it when the node stops. The embedded epmd lives in this program,
    so names registered with it by other programs vanish when it stops.

    Args:
        host: this machine's address epmd is reached at.
        port: epmd's port; default `default_port()`.
        prefer: `"auto"` as above; `"system"` never embeds (raises
            EpmdUnavailable when `epmd` is not installed); `"embedded"` never
            starts the system's `epmd`.
        timeout: seconds to wait for each epmd to answer.

    Raises:
        EpmdUnavailable: nothing answers and no epmd could be started (e.g.
            the port is taken by something that is not epmd).
    """
    port = default_port() if port is None else port
    if port == 0 and prefer != "embedded":
        raise ValueError('port 0 (any free port) only works with prefer="embedded"')
    if port and await _answers(host, port, timeout):
        return None
    program = shutil.which("epmd") if prefer != "embedded" else None
    if program is not None:
        await _start_system_epmd(program, host, port, timeout)
        return None
    if prefer == "system":
        raise EpmdUnavailable(host, port, "the `epmd` program is not installed")
    try:
        return await EpmdServer.start(port=port, host=host)
    except OSError as exc:
        # Another program may have started an epmd since we asked: use it.
        if port and await _answers(host, port, timeout):
            return None
        raise EpmdUnavailable(
            host, port, f"cannot listen there ({exc.strerror or exc}) and nothing answers"
        ) from exc
