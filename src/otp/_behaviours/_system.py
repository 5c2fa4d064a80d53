"""The system requests a server answers between two messages (the `:sys` module's).

`otp.sys` and `otp.stop` put a `System` message in the server's mailbox;
the server runs the handler of its kind when it reaches it, in mailbox
order. While suspended, a server answers only these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server_process import ServerProcess


def _get_state(server: ServerProcess, _: object) -> object:
    return server.state


def _replace_state(server: ServerProcess, fn: object) -> object:
    assert callable(fn)
    server.state = fn(server.state)
    return server.state


def _get_status(server: ServerProcess, _: object) -> object:
    return server.format_status(None)


def _suspend(server: ServerProcess, _: object) -> object:
    server.suspended = True
    return None


def _resume(server: ServerProcess, _: object) -> object:
    server.suspended = False
    return None


def _change_code(server: ServerProcess, payload: object) -> object:
    if not (type(payload) is tuple and len(payload) == 2):
        raise TypeError(f"change_code needs (old_vsn, extra); got {payload!r}")
    old_vsn, extra = payload
    server.state = server.impl.code_change(old_vsn, server.state, extra)
    return None


#: The handler of each kind of system request.
SYSTEM_HANDLERS: dict[str, Callable[[ServerProcess, object], object]] = {
    "get_state": _get_state,
    "replace_state": _replace_state,
    "get_status": _get_status,
    "suspend": _suspend,
    "resume": _resume,
    "change_code": _change_code,
}


__all__ = ["SYSTEM_HANDLERS"]
