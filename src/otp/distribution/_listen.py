"""Where a node listens: `bind=` (the address) and `port=` (a port, a range, or any).

`otp.Node(..., bind=..., port=...)`:

- `bind`: an IPv4 or IPv6 address, or a host name (its first address is
  used, so that the node has one socket and one port). None listens on
  every IPv4 interface, as `erl` does (epmd hands out the port, and a peer
  dials the host of the node's name).
- `port`: a fixed port; a `(min, max)` range, of which the first free port
  is taken (Erlang's `inet_dist_listen_min`/`inet_dist_listen_max`); or
  None for a port the system chooses.

>>> import asyncio
>>> async def main():
...     server = await listen(lambda r, w: None, "127.0.0.1", None)
...     host = server.sockets[0].getsockname()[0]
...     server.close()
...     return host
>>> asyncio.run(main())
'127.0.0.1'
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]

#: What None binds: every IPv4 interface, as erl.
ANY: str = "0.0.0.0"


async def listen(
    handler: Handler,
    bind: str | None,
    port: int | tuple[int, int] | None,
    *,
    paused: bool = False,
) -> asyncio.Server:
    """A server calling `handler` for each connection, on `bind` and `port`.

    With `paused`, a new connection reads nothing until the handler starts
    TLS on it: no byte of the peer's TLS handshake goes to the plain stream.

    Raises:
        OSError: the address cannot be bound (the message names it), or
            every port of the range is taken (the message names the range).
    """
    host = await _address(bind)
    if port is None or isinstance(port, int):
        return await _serve(handler, host, port or 0, paused)
    low, high = port
    for candidate in range(low, high + 1):
        try:
            return await _serve(handler, host, candidate, paused)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(
        errno.EADDRINUSE,
        f"no free port in the range {low}-{high} on {host} (port=({low}, {high})): "
        f"stop what uses them, or give a wider range",
    )


async def _serve(handler: Handler, host: str, port: int, paused: bool) -> asyncio.Server:
    loop = asyncio.get_running_loop()

    def protocol() -> asyncio.StreamReaderProtocol:
        kind = _Paused if paused else asyncio.StreamReaderProtocol
        return kind(asyncio.StreamReader(), handler)

    try:
        return await loop.create_server(protocol, host=host, port=port)
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot listen on {host} port {port}: {exc.strerror or exc}"
        ) from None


class _Paused(asyncio.StreamReaderProtocol):
    """A stream that reads nothing until TLS starts on it (`loop.start_tls` resumes it)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()
        super().connection_made(transport)


async def _address(bind: str | None) -> str:
    """The one address to listen on for `bind`."""
    if bind is None:
        return ANY
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(bind, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(
            errno.EADDRNOTAVAIL,
            f"cannot listen on bind={bind!r}: {exc}; give an address such as "
            f"'127.0.0.1' or '::1', or a host name of this machine",
        ) from None
    return str(infos[0][4][0])


__all__ = ["ANY", "listen"]
