"""The epmd protocol: its request and answer numbers, `NodeInfo`, errors and framing.

Shared by the epmd client (`otp.distribution._epmd`: `register`,
`port_please`, `names`, `ensure_epmd`) and the embedded epmd
(`otp.distribution._epmd_server`).

>>> _frame(bytes([NAMES_REQ]))
b'\\x00\\x01n'

Protocol (all integers big-endian; each request is `Len:16 | Request`, and
epmd closes the connection after answering, except for ALIVE2):

===========================  ============================================================
request                      answer
===========================  ============================================================
ALIVE2_REQ 120 | Port:16 |   ALIVE2_X_RESP 118 | Result:8 | Creation:32 (Highest >= 6),
Type:8 | Proto:8 |           else ALIVE2_RESP 121 | Result:8 | Creation:16.
Highest:16 | Lowest:16 |     Result 0 = registered; 1 = refused (name taken), creation 99.
Nlen:16 | Name | Elen:16 |
Extra
PORT_PLEASE2_REQ 122 | Name  PORT2_RESP 119 | 0 | Port:16 | Type:8 | Proto:8 |
                             Highest:16 | Lowest:16 | Nlen:16 | Name | Elen:16 | Extra,
                             or 119 | 1 when the name is not registered.
NAMES_REQ 110                EpmdPort:32, then `name <Name> at port <Port>\\n` lines.
DUMP_REQ 100                 EpmdPort:32, then one NUL-terminated line per name.
KILL_REQ 107                 `OK` (epmd stops) or `NO` (names are still registered).
STOP_REQ 115 | Name          nothing: only epmd -relaxed_command_check honours it.
===========================  ============================================================
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Final, final

__all__ = [
    "DEFAULT_PORT",
    "EpmdError",
    "EpmdUnavailable",
    "NameTaken",
    "NodeInfo",
    "default_port",
]

DEFAULT_PORT: Final = 4369
"""epmd's TCP port when `$ERL_EPMD_PORT` is not set."""

ALIVE2_REQ: Final = 120
ALIVE2_X_RESP: Final = 118
ALIVE2_RESP: Final = 121
PORT_PLEASE2_REQ: Final = 122
PORT2_RESP: Final = 119
NAMES_REQ: Final = 110
DUMP_REQ: Final = 100
KILL_REQ: Final = 107
STOP_REQ: Final = 115

NORMAL_NODE: Final = 77
HIDDEN_NODE: Final = 72
TCP_IPV4: Final = 0
DIST_VERSION: Final = 6  # the only handshake OTP 25+ speaks: announce 6 as highest and lowest

_MAX_NAME_BYTES: Final = 255 * 4  # epmd's MAXSYMLEN: 255 characters of UTF-8
_MAX_PACKET: Final = 3 * _MAX_NAME_BYTES  # epmd's INBUF_SIZE, length header included
_MAX_FORGOTTEN: Final = 1000  # unregistered names whose creation epmd remembers
_REFUSED_CREATION: Final = 99  # what epmd puts in a refused ALIVE2 answer

_ALIVE2_FIELDS: Final = struct.Struct(">HBBHHH")  # port, type, protocol, high, low, nlen
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


class EpmdError(Exception):
    """epmd refused a request or answered something this module does not understand."""


class EpmdUnavailable(EpmdError):
    """No epmd answered at `host:port` (refused, unreachable, or silent too long)."""

    host: str
    port: int

    def __init__(self, host: str, port: int, why: str) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"cannot reach epmd at {host}:{port}: {why}. Start it with `epmd -daemon` "
            "(it comes with Erlang/OTP) or let otp start one (a distributed otp.Node "
            "does), or set ERL_EPMD_PORT if your epmd listens on another port."
        )


class NameTaken(EpmdError):
    """epmd refused to register `name`: another node has it (`.name`)."""

    name: str

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        super().__init__(
            f"the node name {name!r} is already registered with epmd at {host}:{port}. "
            f"Pick another name, or stop the node that uses it (`epmd -names` lists "
            "the registered names)."
        )


@final
@dataclass(frozen=True)
class NodeInfo:
    """What epmd knows about a registered node (the answer to `port_please`)."""

    name: str
    port: int
    node_type: int
    """77 for a normal Erlang node, 72 for a hidden node (C nodes, this module's default)."""
    protocol: int
    """0: TCP over IPv4."""
    high_version: int
    low_version: int
    extra: bytes = b""


def default_port() -> int:
    """epmd's TCP port: `$ERL_EPMD_PORT` when set, else 4369.

    >>> default_port() if "ERL_EPMD_PORT" not in os.environ else 4369
    4369

    Raises:
        ValueError: `$ERL_EPMD_PORT` is not a port number.
    """
    value = os.environ.get("ERL_EPMD_PORT", "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(
            f"ERL_EPMD_PORT must be a TCP port number (1-65535); got {value!r}. "
            "Fix or unset it (unset means 4369)."
        )
    return int(value)


def _encode_name(name: str) -> bytes:
    """The UTF-8 bytes of a node name as epmd stores it; reject what epmd would refuse."""
    if "@" in name:
        raise ValueError(
            f"epmd knows node names without the host: got {name!r}; "
            f"pass {name.partition('@')[0]!r} (the part before '@')"
        )
    encoded = name.encode("utf-8")
    if not name or "\0" in name or len(name) > 255 or len(encoded) > _MAX_NAME_BYTES:
        raise ValueError(
            f"a node name must be 1 to 255 characters without NUL; got {name!r} "
            f"({len(name)} characters)"
        )
    return encoded


def _frame(request: bytes) -> bytes:
    return _U16.pack(len(request)) + request
