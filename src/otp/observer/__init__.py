"""A live web dashboard of this node and of the nodes it is connected to.

Erlang's `observer`, in the browser: processes (sortable, filterable, paged
on the server), one process (links, monitors, its state through
`format_status`), the supervision tree, tables, registries, nodes, charts
of processes, messages per second and memory, and recent crash reports.
It needs the extra: `pip install 'otp[observer]'` (aiohttp).

    async def main():
        obs = await otp.observer.start_link(port=8000)
        print(obs.url)            # http://127.0.0.1:8000/
        ...

or `otp.run(main, observer=8000)`, which serves it while `main` runs and
logs its address on logger "otp.observer".

Security: the dashboard is read-only unless `allow_kill=True` (then a
process page has a Kill button). It listens on 127.0.0.1 by default; on any
other address without a `token`, one is generated and put in `url`: every
request must carry it (`?token=` once, then a cookie; or
`Authorization: Bearer`). Requests naming another host are refused (DNS
rebinding), and POSTs need the page's own header and origin (CSRF).

Other nodes: the node selector lists `otp.nodes()`. Another otp node answers
by erpc with this package's `_probe` functions; an Erlang or Elixir node is
read through `erlang:process_info/2` (its tree, tables, registries and crash
reports are not available).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from typing import Any, final

import otp

from .._runtime._node import Node
from .._runtime._scheduler import current_process
from ._sampler import STOP

logger = logging.getLogger("otp.observer")
MISSING_EXTRA = "the observer needs aiohttp: pip install 'otp[observer]'"


@final
@dataclass(frozen=True)
class Observer:
    """A running dashboard: open `url` in a browser.

    `url` includes `?token=...` when a token is in force; `port` is the
    bound port (`port=0` picks a free one); `pid` is the observer's process,
    linked to the caller of `start_link`: its exit stops the server.
    """

    url: str
    port: int
    pid: otp.Pid
    host: str
    allow_kill: bool


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_module() -> Any:
    try:
        from . import _server
    except ImportError as exc:
        if getattr(exc, "name", None) in ("aiohttp", None) or "aiohttp" in str(exc):
            raise ImportError(MISSING_EXTRA) from None
        raise
    return _server


async def start_link(
    port: int = 8000,
    host: str = "127.0.0.1",
    token: str | None = None,
    allow_kill: bool = False,
    *,
    focus: str | None = None,
) -> Observer:
    """Serve the dashboard on `host:port` from a new process linked to the caller.

    >>> import otp
    >>> async def main():
    ...     obs = await otp.observer.start_link(port=0)
    ...     ok = obs.url == f"http://127.0.0.1:{obs.port}/"
    ...     await otp.observer.stop(obs)
    ...     return ok
    >>> otp.run(main)
    True

    Waits until the server listens (no timeout: binding is immediate).
    `focus` names the node the page shows first (default: this node).

    Raises:
        ImportError: aiohttp is missing (install the `otp[observer]` extra).
        OSError: the port is taken, or `host` cannot be bound.
        ValueError: a bad port or host.
    """
    return await _start(port, host, token, allow_kill, focus, link=True)


async def _start(
    port: int, host: str, token: str | None, allow_kill: bool, focus: str | None, link: bool
) -> Observer:
    if type(port) is not int or not 0 <= port <= 65535:
        raise ValueError(f"port must be a TCP port 0-65535 (0: any free one); got {port!r}")
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be an address such as '127.0.0.1'; got {host!r}")
    if token is not None and (not isinstance(token, str) or not token):
        raise ValueError(f"token must be a non-empty str or None; got {token!r}")
    server = _server_module()
    if token is None and not _is_loopback(host):
        token = secrets.token_urlsafe(24)
    config = server.Config(host, token, allow_kill, focus)
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    spawn = otp.spawn_link if link and current_process.get() is not None else otp.spawn
    pid = spawn(server.serve, config, port, ready)
    bound = await ready
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    logger.info("Observer of %s at %s", otp.node(), url)
    return Observer(url, bound, pid, host, allow_kill)


async def stop(observer: Observer) -> None:
    """Stop the dashboard and wait until its port is closed.

    The observer's process ends with reason `normal`, so the process
    linked to it keeps running.
    """
    ref = otp.monitor(observer.pid)
    otp.send(observer.pid, STOP)
    await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)


def current() -> Observer | None:
    """The observer started for `otp.run(..., observer=PORT)` on this node, if any."""
    from .._runtime._scheduler import current_node

    obs = current_node("otp.observer.current").observer
    return obs if isinstance(obs, Observer) else None


async def _for_node(node: Node, port: int) -> object:
    """`Node(observer=port)`: a root process, stopped when the node shuts down."""
    return await _start(port, "127.0.0.1", None, False, None, link=False)


Node.observer_factory = _for_node

__all__ = ["Observer", "current", "start_link", "stop"]
