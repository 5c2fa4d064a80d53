"""The distribution handshake (version 6) between two nodes.

A connection starts with a handshake that proves both nodes know the same
cookie and agrees on capability flags. Its messages are framed with a
2-byte length; after it, every packet has a 4-byte length (see
`otp.distribution._connection`). A is the initiator, B the acceptor::

    A -> B  'N' Flags:64 Creation:32 NameLen:16 Name      (send_name)
    B -> A  's' Status                                     (ok, ok_simultaneous,
                                                            nok, not_allowed, alive)
    B -> A  'N' Flags:64 Challenge:32 Creation:32 NameLen:16 Name
    A -> B  'r' ChallengeA:32 Digest(16)                   Digest = MD5(cookie ++ ChallengeB)
    B -> A  'a' Digest(16)                                 Digest = MD5(cookie ++ ChallengeA)

Challenges are written in decimal inside the digest. A wrong digest ends
the handshake: the side that notices closes the socket, and the acceptor
logs the attempt on logger "otp" (never the cookie nor the digest).

>>> digest(b"secret", 1234).hex()
'bdfc2db0aa599f5919e565c328216a51'
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import struct
from collections.abc import Callable
from typing import Final, NamedTuple, Protocol

logger = logging.getLogger("otp")

# -- capability flags --------------------------------------------------------------

PUBLISHED: Final = 0x1
EXTENDED_REFERENCES: Final = 0x4
DIST_MONITOR: Final = 0x8
FUN_TAGS: Final = 0x10
DIST_MONITOR_NAME: Final = 0x20
NEW_FUN_TAGS: Final = 0x80
EXTENDED_PIDS_PORTS: Final = 0x100
EXPORT_PTR_TAG: Final = 0x200
BIT_BINARIES: Final = 0x400
NEW_FLOATS: Final = 0x800
UNICODE_IO: Final = 0x1000
SMALL_ATOM_TAGS: Final = 0x4000
UTF8_ATOMS: Final = 0x10000
MAP_TAG: Final = 0x20000
BIG_CREATION: Final = 0x40000
SEND_SENDER: Final = 0x80000
BIG_SEQTRACE_LABELS: Final = 0x100000
EXIT_PAYLOAD: Final = 0x400000
HANDSHAKE_23: Final = 0x1000000
UNLINK_ID: Final = 0x2000000
MANDATORY_25_DIGEST: Final = 0x4000000
SPAWN: Final = 1 << 32
V4_NC: Final = 1 << 34
ALIAS: Final = 1 << 35

#: What OTP 25 refuses to talk without.
MANDATORY_25: Final = (
    EXTENDED_REFERENCES
    | FUN_TAGS
    | NEW_FUN_TAGS
    | EXTENDED_PIDS_PORTS
    | EXPORT_PTR_TAG
    | BIT_BINARIES
    | NEW_FLOATS
    | UTF8_ATOMS
    | MAP_TAG
    | BIG_CREATION
    | HANDSHAKE_23
)
#: What OTP 26 and 27 refuse to talk without.
MANDATORY_26: Final = MANDATORY_25 | V4_NC | UNLINK_ID

#: The flags this node offers (PUBLISHED is added for a visible node). No atom
#: cache, no fragments: the peer then never sends them. SPAWN: spawn requests
#: are answered (`_spawned.py`), which erpc, rpc and spawn/4 need.
OUR_FLAGS: Final = (
    MANDATORY_26
    | MANDATORY_25_DIGEST
    | DIST_MONITOR
    | DIST_MONITOR_NAME
    | ALIAS
    | EXIT_PAYLOAD
    | SEND_SENDER
    | UNICODE_IO
    | SMALL_ATOM_TAGS
    | BIG_SEQTRACE_LABELS
    | SPAWN
)

_SEND_NAME = struct.Struct(">cQIH")  # 'N', flags, creation, name length
_CHALLENGE = struct.Struct(">cQIIH")  # 'N', flags, challenge, creation, name length
_REPLY = struct.Struct(">cI16s")  # 'r', challenge, digest
_LEN = struct.Struct(">H")


class HandshakeError(ConnectionError):
    """The handshake failed: refused by the peer, a wrong cookie, or a broken stream."""


class Reader(Protocol):
    """What the handshake reads from (an `asyncio.StreamReader`)."""

    async def readexactly(self, n: int) -> bytes: ...


class Writer(Protocol):
    """What the handshake writes to (an `asyncio.StreamWriter`)."""

    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...


class Peer(NamedTuple):
    """The other node, as the handshake learnt it."""

    name: str
    flags: int  # the flags both nodes share
    creation: int
    published: bool = False  # the peer is visible (its own flags have PUBLISHED)


def digest(cookie: bytes, challenge: int) -> bytes:
    """MD5 of the cookie followed by the challenge written in decimal."""
    return hashlib.md5(cookie + str(challenge).encode("ascii")).digest()


def check_flags(name: str, flags: int) -> None:
    """Refuse a peer that lacks a flag OTP 25 requires (as OTP itself does)."""
    if flags & MANDATORY_25_DIGEST:
        return
    missing = MANDATORY_25 & ~flags
    if missing:
        raise HandshakeError(
            f"node {name!r} cannot handle the mandatory distribution flags {missing:#x}: "
            f"it is older than OTP 23 or not an Erlang node"
        )


async def _recv(reader: Reader) -> bytes:
    (n,) = _LEN.unpack(await reader.readexactly(2))
    return await reader.readexactly(n)


async def _send(writer: Writer, data: bytes) -> None:
    writer.write(_LEN.pack(len(data)) + data)
    await writer.drain()


def _name_at(data: bytes, offset: int, length: int) -> str:
    raw = data[offset : offset + length]
    if len(raw) != length:
        raise HandshakeError("handshake message ends inside the node name")
    return raw.decode("utf-8", "replace")


async def initiate(
    reader: Reader, writer: Writer, name: str, creation: int, cookie: bytes, flags: int
) -> Peer:
    """Run the handshake as the node that opened the connection.

    Returns the peer once both sides proved they know the cookie.

    Raises:
        HandshakeError: the peer refused (`nok`, `not_allowed`), a digest
            did not match, or the stream broke. `nok` means the peer is
            connecting to us at the same time and its attempt wins: the
            message says so, so the caller can wait for that connection.
    """
    raw_name = name.encode("utf-8")
    await _send(writer, _SEND_NAME.pack(b"N", flags, creation, len(raw_name)) + raw_name)
    status = await _recv(reader)
    if status[:1] != b"s":
        raise HandshakeError(f"expected a status message, got {status[:1]!r}")
    word = status[1:].decode("ascii", "replace")
    if word == "alive":
        # The peer still has a connection from an earlier incarnation of
        # this name; we are the live one, so it should drop the old one.
        await _send(writer, b"strue")
    elif word not in ("ok", "ok_simultaneous"):
        raise HandshakeError(f"the peer refused the connection: {word}")
    msg = await _recv(reader)
    if msg[:1] != b"N" or len(msg) < _CHALLENGE.size:
        raise HandshakeError(f"expected a challenge, got {msg[:1]!r}")
    _, peer_flags, challenge, peer_creation, nlen = _CHALLENGE.unpack_from(msg)
    peer_name = _name_at(msg, _CHALLENGE.size, nlen)
    check_flags(peer_name, peer_flags)
    ours = secrets.randbits(32)
    await _send(writer, _REPLY.pack(b"r", ours, digest(cookie, challenge)))
    ack = await _recv(reader)
    if ack[:1] != b"a" or not hmac.compare_digest(ack[1:], digest(cookie, ours)):
        raise HandshakeError(f"node {peer_name!r} did not prove it knows the cookie")
    return Peer(peer_name, flags & peer_flags, peer_creation, bool(peer_flags & PUBLISHED))


#: How an acceptor decides on a new connection from `name`: returns the status
#: to send ("ok", "ok_simultaneous", "nok", "alive" or "not_allowed").
Decide = Callable[[str], str]


async def accept(
    reader: Reader,
    writer: Writer,
    name: str,
    creation: int,
    cookie: bytes,
    flags: int,
    decide: Decide,
    on_alive: Callable[[str], None] | None = None,
) -> Peer:
    """Run the handshake as the node that accepted the connection.

    `decide(peer_name)` chooses the status (simultaneous connects, nodes
    already connected). With status "alive" the initiator answers whether
    it is a new incarnation of the node; if it is, `on_alive(peer_name)`
    is called once the initiator proved it knows the cookie, before the
    last message of the handshake, so that the old connection can be
    dropped first (as OTP 25's `dist_util` does). Nothing the initiator
    sends before that proof has any effect but the handshake's own: each
    message is at most 65,535 bytes (its length is 2 bytes).

    Raises:
        HandshakeError: the initiator sent something else than the
            protocol, lacks a mandatory flag, or used a wrong cookie (then
            the attempt is logged on logger "otp").
    """
    msg = await _recv(reader)
    if msg[:1] == b"n":
        raise HandshakeError(
            "the peer uses the distribution handshake of OTP 22 and older (version 5); "
            "this node needs OTP 23 or newer"
        )
    if msg[:1] != b"N" or len(msg) < _SEND_NAME.size:
        raise HandshakeError(f"expected a node name, got {msg[:1]!r}")
    _, peer_flags, peer_creation, nlen = _SEND_NAME.unpack_from(msg)
    peer_name = _name_at(msg, _SEND_NAME.size, nlen)
    try:
        check_flags(peer_name, peer_flags)
    except HandshakeError:
        await _send(writer, b"snot_allowed")
        raise
    status = decide(peer_name)
    await _send(writer, b"s" + status.encode("ascii"))
    if status == "alive":
        # Anyone can claim a name: the claim only counts once the cookie is proved.
        if await _recv(reader) != b"strue":
            raise HandshakeError(f"node {peer_name!r} is already connected")
    elif status not in ("ok", "ok_simultaneous"):
        raise HandshakeError(f"refused a connection from {peer_name!r}: {status}")
    ours = secrets.randbits(32)
    raw_name = name.encode("utf-8")
    await _send(writer, _CHALLENGE.pack(b"N", flags, ours, creation, len(raw_name)) + raw_name)
    reply = await _recv(reader)
    if reply[:1] != b"r" or len(reply) != _REPLY.size:
        raise HandshakeError(f"expected a challenge reply, got {reply[:1]!r}")
    _, theirs, their_digest = _REPLY.unpack(reply)
    if not hmac.compare_digest(their_digest, digest(cookie, ours)):
        logger.error(
            "Connection attempt from node %r refused: it does not use this node's cookie",
            peer_name,
        )
        raise HandshakeError(f"node {peer_name!r} used a wrong cookie")
    if status == "alive" and on_alive is not None:
        on_alive(peer_name)
    await _send(writer, b"a" + digest(cookie, theirs))
    return Peer(peer_name, flags & peer_flags, peer_creation, bool(peer_flags & PUBLISHED))


__all__ = [
    "OUR_FLAGS",
    "PUBLISHED",
    "HandshakeError",
    "Peer",
    "accept",
    "check_flags",
    "digest",
    "initiate",
]
