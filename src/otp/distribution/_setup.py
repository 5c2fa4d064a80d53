"""Setting connections up: dialling a peer, accepting one, and who wins when both dial.

A connection to a peer is dialled on demand (`Distribution.connection`):
epmd on the peer's host gives its port, then the handshake
(`_handshake.initiate`) proves the cookie both ways. An incoming connection
goes through `_handshake.accept`, which asks `_decide` what to answer:
`ok`, `alive` (we have a connection to that node: if its cookie proves
right, it restarted, and `_on_alive` drops the old one), `not_allowed` (a
node with our own name), or, when both nodes dial each other at once,
`ok_simultaneous`/`nok` so that the greater name's attempt wins, as Erlang
decides. Each step is bounded by `SETUP_TIME` (Erlang's `net_setuptime`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import TYPE_CHECKING, Final

from . import _epmd, _tls
from ._connection import Connection
from ._handshake import HandshakeError, accept, initiate

if TYPE_CHECKING:
    from ._node import Distribution

logger = logging.getLogger("otp")

#: Seconds a connection may take to set up (Erlang's `net_setuptime`).
SETUP_TIME: Final = 7.0


async def dial(dist: Distribution, conn: Connection) -> None:
    alive, _, host = conn.peer.partition("@")
    try:
        info = await _epmd.port_please(alive, host)
        if info is None:
            raise ConnectionError(f"epmd on {host!r} knows no node named {alive!r}")
        tls = dist.tls.client if dist.tls is not None else None
        reader, writer = await asyncio.wait_for(
            # With TLS, the certificate must name the host of the peer's node
            # name, as Erlang's inet_tls_dist checks it (server name indication).
            asyncio.open_connection(
                host, info.port, ssl=tls, server_hostname=host if tls is not None else None
            ),
            SETUP_TIME,
        )
    except (OSError, _epmd.EpmdError, ValueError, TimeoutError) as exc:
        why = _tls.dial_failure(exc) if dist.tls is not None else str(exc)
        logger.info("Cannot connect to node %r: %s", conn.peer, why)
        conn.close(f"cannot connect: {why}")
        return
    # Inside TLS the handshake's messages have 4-byte lengths, as inet_tls_dist's.
    hs = _tls.Packet4(reader, writer) if dist.tls is not None else None
    try:
        peer = await asyncio.wait_for(
            initiate(
                hs or reader, hs or writer, dist.name, dist.node.creation, dist.cookie, dist.flags
            ),
            SETUP_TIME,
        )
    except (OSError, HandshakeError, asyncio.IncompleteReadError, TimeoutError) as exc:
        writer.close()
        await _lost_race(conn, exc)
        return
    if conn.state != "connecting" or peer.name != conn.peer:
        writer.close()  # the peer's own connection to us won the race, or a wrong peer
        if conn.state == "connecting":
            conn.close(f"connected to {peer.name!r} instead")
        return
    conn.attach(reader, writer, peer.flags)
    conn.published = peer.published
    dist.node_up(conn.peer)


async def _lost_race(conn: Connection, exc: BaseException) -> None:
    # Refused with `nok`: the peer is connecting to us at the same time
    # and its attempt wins; our accept side will attach it to `conn`.
    if isinstance(exc, HandshakeError) and str(exc).endswith(": nok"):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(conn.ready), SETUP_TIME)
        if conn.state == "up":
            return
    logger.info("Handshake with node %r failed: %s", conn.peer, exc)
    conn.close(f"handshake failed: {exc}")


async def accepted(
    dist: Distribution, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        async with asyncio.timeout(SETUP_TIME):  # TLS and the handshake together
            hs_reader, hs_writer = await _tls.secure_accepted(dist.tls, reader, writer)
            peer = await accept(
                hs_reader,
                hs_writer,
                dist.name,
                dist.node.creation,
                dist.cookie,
                dist.flags,
                partial(_decide, dist),
                partial(_on_alive, dist),
            )
    except _tls.Refused as exc:
        logger.warning("Refused a connection from %s: %s", writer.get_extra_info("peername"), exc)
        writer.close()
        return
    except (OSError, HandshakeError, asyncio.IncompleteReadError, TimeoutError) as exc:
        logger.debug("Refused an incoming connection: %s", exc)
        writer.close()
        return
    conn = dist.conns.get(peer.name)
    if conn is None or conn.state != "connecting":
        conn = dist.conns[peer.name] = Connection(dist, peer.name)
    conn.attach(reader, writer, peer.flags)
    conn.published = peer.published
    dist.node_up(peer.name)


def _decide(dist: Distribution, peer: str) -> str:
    """The handshake status for an incoming connection from `peer`."""
    conn = dist.conns.get(peer)
    alive, _, host = peer.partition("@")
    if peer == dist.name or not alive or not host or "@" in host or "\ufffd" in peer:
        return "not_allowed"  # our own name, or not a node name (name@host in UTF-8)
    if conn is None:
        return "ok"
    if conn.state == "up":
        return "alive"
    # Both nodes connect to each other at once: the greater name's attempt wins.
    return "ok_simultaneous" if peer > dist.name else "nok"


def _on_alive(dist: Distribution, peer: str) -> None:
    """A node we are connected to connects again and proved the cookie: it restarted."""
    # Our connection to its old incarnation is dead, even if we have not
    # noticed yet. (One still connecting is kept: this handshake attaches to it.)
    conn = dist.conns.get(peer)
    if conn is not None and conn.state == "up":
        conn.close("the node restarted")


__all__ = ["SETUP_TIME", "accepted", "dial"]
