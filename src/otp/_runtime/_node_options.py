"""What a distributed node is given: its full name and its distribution options.

`otp.Node(name, cookie=..., hidden=..., ...)` keeps the options here and
hands them, with the node, to the distribution layer when the node starts.
The runtime checks their shapes (so that a bad option fails where the node
is built); what they mean is the distribution layer's business.

>>> full_name("py@127.0.0.1")
'py@127.0.0.1'
>>> DistOptions(port=(9100, 9105)).port
(9100, 9105)
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from ._repr import show


@dataclass(frozen=True, slots=True)
class DistOptions:
    """The distribution options of `otp.Node` (see its docstring for each)."""

    cookie: str | None = None
    hidden: bool = True
    net_ticktime: float = 60.0
    bind: str | None = None
    port: int | tuple[int, int] | None = None
    tls: object = None  # an otp.TLS, checked by the distribution layer
    pickle: bool = True
    rpc: str | Sequence[str] = "*"

    def __post_init__(self) -> None:
        _check(self)


def full_name(name: str) -> str:
    """`name@host`: a name without a host gets this machine's short host name.

    >>> full_name("py") == "py@" + socket.gethostname().split(".")[0]
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"a node name is a str, 'name@host' or 'name'; got {show(name)}")
    alive, at, host = name.partition("@")
    if not alive or (at and not host) or "@" in host:
        raise ValueError(f"a node name is 'name@host' or 'name' (for name@this-host); got {name!r}")
    return name if at else f"{alive}@{socket.gethostname().split('.')[0]}"


def _check(o: DistOptions) -> None:
    """Refuse an option of the wrong shape, saying what to pass."""
    if o.cookie is not None and (not isinstance(o.cookie, str) or not o.cookie):
        raise ValueError(
            f"cookie must be a non-empty str (or None to read ~/.erlang.cookie); "
            f"got {show(o.cookie)}"
        )
    if type(o.net_ticktime) not in (int, float) or not o.net_ticktime > 0:
        raise ValueError(f"net_ticktime must be seconds > 0; got {show(o.net_ticktime)}")
    if o.bind is not None and (not isinstance(o.bind, str) or not o.bind):
        raise ValueError(
            f"bind must be the address to listen on, such as '127.0.0.1' or '0.0.0.0' "
            f"(None: every interface); got {show(o.bind)}"
        )
    _check_port(o.port)
    if type(o.pickle) is not bool:
        raise ValueError(f"pickle must be True or False; got {show(o.pickle)}")
    rpc = o.rpc
    if rpc != "*" and (
        isinstance(rpc, str)
        or not isinstance(rpc, Sequence)
        or not all(isinstance(m, str) and m for m in rpc)
    ):
        raise ValueError(
            f"rpc must be '*' (any importable module) or a list of module names that "
            f"other nodes may run, such as ['mymodel', 'pkg.tools']; got {show(rpc)}"
        )


def _check_port(port: object) -> None:
    def valid(p: object) -> bool:
        return type(p) is int and 0 <= p <= 65535

    if port is None or valid(port):
        return
    if type(port) is tuple and len(port) == 2 and valid(port[0]) and valid(port[1]):
        if port[0] <= port[1]:
            return
    raise ValueError(
        f"port must be a TCP port (0-65535), a (min, max) range to pick a free one from "
        f"(Erlang's inet_dist_listen_min/max), or None for any free port; got {show(port)}"
    )


__all__ = ["DistOptions", "full_name"]
