"""TLS for the distribution: `otp.TLS`, Erlang's `-proto_dist inet_tls`.

With `otp.Node(..., tls=otp.TLS(certfile, keyfile, cafile))` every
connection of the node runs inside TLS, as between Erlang nodes started
with `-proto_dist inet_tls -ssl_dist_optfile F`: epmd is asked for the
port as usual (a TLS node registers as any node), then the TLS handshake,
then the distribution handshake (cookie and all) inside it.

With `verify=True` (the default) certificates are checked both ways, as
an optfile with `{verify, verify_peer}` and `{fail_if_no_peer_cert, true}`:

- the listening node requests the dialling node's certificate, and
  refuses a connection without one or with one not signed by `cafile`;
- the dialling node checks the listening node's certificate against
  `cafile` and the host of the peer's node name (`name@host`): Erlang's
  `inet_tls_dist` sends that host as the server name indication, and
  OTP's ssl then checks the certificate's names against it. The listening
  node does not check the dialler's host name (neither does Erlang).

A node named `name@10.0.0.5` needs a certificate naming 10.0.0.5 both as
an IP address (which Python's ssl checks an address against) and as a DNS
name (which OTP's ssl checks the server name indication against); a node
named `name@host.example` needs the DNS name only.

`cafile=None` trusts the system's certificate authorities. `verify=False`
encrypts without checking anything (Erlang's `verify_none`): only for
tests. TLS 1.2 or newer is required (OTP 25 offers TLS 1.2 only for the
distribution unless configured otherwise).

Inside TLS, the distribution handshake's messages have a 4-byte length
(OTP's `inet_tls_dist` keeps its sockets in `{packet, 4}` from the start),
where plain TCP gives them a 2-byte one: `Packet4` carries the handshake
of `_handshake.py` that way, still refusing a message over 65,535 bytes.

A TLS node refuses peers that do not speak TLS, and a plain node refuses
peers that do: both log a line on logger "otp" saying why.

>>> TLS("node.pem", "node.key", cafile="ca.pem")
TLS(certfile='node.pem', keyfile='node.key', cafile='ca.pem', verify=True)
>>> check_tls("node.pem")
Traceback (most recent call last):
...
TypeError: tls must be otp.TLS(certfile=..., keyfile=..., cafile=...) or None; got 'node.pem'
"""

from __future__ import annotations

import asyncio
import os
import ssl
import struct
from dataclasses import dataclass
from typing import Final

from .._runtime._repr import show
from ._handshake import HandshakeError, Reader, Writer

Path = str | os.PathLike[str]

#: The first bytes of a TLS ClientHello: a handshake record (22), version 3.x.
_TLS_RECORD: Final = b"\x16\x03"
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class TLS:
    """The certificates of a node that speaks TLS (see the module docstring).

    Args:
        certfile: this node's certificate (PEM), with any intermediate
            certificates after it.
        keyfile: its private key (PEM, not encrypted).
        cafile: the certificate authorities (PEM) that peers' certificates
            must be signed by; None: the system's.
        verify: check the peer's certificate (and, when dialling, its host
            name). False encrypts without authenticating the peer.
    """

    certfile: Path
    keyfile: Path
    cafile: Path | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        for field in ("certfile", "keyfile"):
            value = getattr(self, field)
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                raise TypeError(
                    f"otp.TLS {field} must be the path of a PEM file; got {show(value)}"
                )
        if self.cafile is not None and not isinstance(self.cafile, (str, os.PathLike)):
            raise TypeError(
                f"otp.TLS cafile must be the path of a PEM file of certificate authorities, "
                f"or None for the system's; got {show(self.cafile)}"
            )
        if type(self.verify) is not bool:
            raise TypeError(f"otp.TLS verify must be True or False; got {show(self.verify)}")


@dataclass(frozen=True, slots=True)
class Contexts:
    """The SSL contexts of a TLS node: one to accept connections, one to dial."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def check_tls(tls: object) -> TLS | None:
    """`tls` if it is an `otp.TLS` or None; otherwise a TypeError saying what to pass."""
    if tls is None or isinstance(tls, TLS):
        return tls
    raise TypeError(
        f"tls must be otp.TLS(certfile=..., keyfile=..., cafile=...) or None; got {show(tls)}"
    )


def contexts(tls: object) -> Contexts | None:
    """The SSL contexts for the node option `tls` (None: no TLS).

    Raises:
        TypeError: `tls` is not an `otp.TLS`.
        ValueError: a certificate, key or CA file cannot be loaded (the
            message names it).
    """
    checked = check_tls(tls)
    if checked is None:
        return None
    return Contexts(_context(checked, server=True), _context(checked, server=False))


def _context(tls: TLS, *, server: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.certfile, tls.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"otp.TLS: cannot load the certificate {os.fspath(tls.certfile)!r} with the key "
            f"{os.fspath(tls.keyfile)!r}: {exc}"
        ) from None
    if tls.verify:
        try:
            if tls.cafile is None:
                ctx.load_default_certs(
                    ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
                )
            else:
                ctx.load_verify_locations(cafile=tls.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"otp.TLS: cannot load the certificate authorities {tls.cafile!r}: {exc}"
            ) from None
        ctx.verify_mode = ssl.CERT_REQUIRED  # a server then requires the client's certificate
        if not server:
            ctx.check_hostname = True
    else:
        if not server:
            ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Refused(ConnectionError):
    """A peer that speaks TLS to a plain node, or fails the TLS handshake of a TLS node."""


async def secure_accepted(
    tls: Contexts | None, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[Reader, Writer]:
    """Make an accepted connection ready for the distribution handshake.

    A TLS node runs the TLS handshake (the listener paused reading, so that
    no byte of it was read before); a plain node checks the peer does not
    start a TLS handshake. Returns what the distribution handshake reads
    from and writes to.

    Raises:
        Refused: the peer speaks TLS to a plain node, or the TLS handshake
            failed (no certificate, an unknown authority, not TLS at all).
    """
    if tls is None:
        head = await reader.readexactly(2)
        if head == _TLS_RECORD:
            raise Refused(
                "the peer speaks TLS, and this node does not: start it with "
                "tls=otp.TLS(...), or the peer without -proto_dist inet_tls"
            )
        return Replay(reader, head), writer
    try:
        await writer.start_tls(tls.server)
    except ssl.SSLError as exc:
        raise Refused(f"TLS handshake failed: {_why(exc)}") from None
    framed = Packet4(reader, writer)
    return framed, framed


def dial_failure(exc: BaseException) -> str:
    """What a failed TLS dial says (a hint when the peer may not speak TLS)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the peer's certificate was refused: {exc.verify_message}"
    if isinstance(exc, (ssl.SSLError, ConnectionResetError, TimeoutError, EOFError)):
        return (
            f"the TLS handshake failed ({_why(exc)}): is the peer a TLS node "
            f"(-proto_dist inet_tls, or tls=otp.TLS(...))?"
        )
    return str(exc)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the peer's certificate was refused: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"):
            return f"{reason}: the peer does not speak TLS (a node without -proto_dist inet_tls?)"
        if "CERTIFICATE" in reason:
            return f"{reason}: the peer sent no certificate, or one this node does not trust"
        return reason
    return str(exc) or type(exc).__name__


class Packet4:
    """The handshake's messages with 4-byte lengths, as inet_tls_dist frames them.

    The handshake reads a 2-byte length, then that many bytes, and writes
    each message as one write of a 2-byte length and the message: this
    reads and writes 4-byte lengths in their place.

    >>> import asyncio
    >>> async def demo():
    ...     reader = asyncio.StreamReader()
    ...     reader.feed_data(b"\\0\\0\\0\\3abc")
    ...     framed = Packet4(reader, None)  # type: ignore[arg-type]
    ...     return await framed.readexactly(2), await framed.readexactly(3)
    >>> asyncio.run(demo())
    (b'\\x00\\x03', b'abc')
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._length_next = True

    async def readexactly(self, n: int) -> bytes:
        if not self._length_next:
            self._length_next = True
            return await self.reader.readexactly(n)
        if n != _U16.size:
            raise HandshakeError("the handshake read something else than a message length")
        (length,) = _U32.unpack(await self.reader.readexactly(_U32.size))
        if length > 0xFFFF:
            raise HandshakeError(
                f"a handshake message of {length} bytes: more than the 65,535 a handshake "
                f"message may have"
            )
        self._length_next = False
        return _U16.pack(length)

    def write(self, data: bytes) -> None:
        (length,) = _U16.unpack_from(data)
        if length != len(data) - _U16.size:
            raise HandshakeError("the handshake wrote something else than one message")
        self.writer.write(_U32.pack(length) + data[_U16.size :])

    async def drain(self) -> None:
        await self.writer.drain()


class Replay:
    """A reader that first gives back bytes already read from `reader`."""

    def __init__(self, reader: asyncio.StreamReader, head: bytes) -> None:
        self.reader = reader
        self.head = head

    async def readexactly(self, n: int) -> bytes:
        head = self.head
        if not head:
            return await self.reader.readexactly(n)
        if n <= len(head):
            self.head = head[n:]
            return head[:n]
        self.head = b""
        return head + await self.reader.readexactly(n - len(head))


__all__ = [
    "TLS",
    "Contexts",
    "Packet4",
    "Refused",
    "check_tls",
    "contexts",
    "dial_failure",
    "secure_accepted",
]
