"""How a server's reports show its exit reason and the message it was handling."""

from __future__ import annotations

from .._runtime._process import is_reason
from .._runtime._repr import MESSAGE_LIMIT, describe_exception, safe_repr
from ._server_messages import GEN_CAST, From


def format_reason(reason: object, limit: int | None = MESSAGE_LIMIT) -> str:
    """A crash reason for people: `"TypeName: message"` for an exception."""
    if isinstance(reason, BaseException):
        return describe_exception(reason, limit)
    return safe_repr(reason, limit)


def exception_of(reason: object) -> BaseException | None:
    return reason if isinstance(reason, BaseException) else None


def message_view(msg: object) -> object:
    """A message as OTP shows it: `("$gen_call", from_, request)` for a call."""
    if type(msg) is From:
        return ("$gen_call", msg, msg.request)
    return msg


def format_message(msg: object, limit: int | None) -> str:
    if type(msg) is tuple and len(msg) == 3 and is_reason(msg[0], "$gen_call"):
        if type(msg[1]) is From:
            caller = msg[1].caller or "a task outside any process"
            return f"call {safe_repr(msg[2], limit)} from {caller}"
    if type(msg) is tuple and len(msg) == 2 and is_reason(msg[0], GEN_CAST):
        return f"cast {safe_repr(msg[1], limit)}"
    if type(msg) is tuple and len(msg) == 2 and is_reason(msg[0], "$continue"):
        return f"continue {safe_repr(msg[1], limit)}"
    if type(msg) is tuple and len(msg) == 2 and is_reason(msg[0], "$init"):
        return f"init({safe_repr(msg[1], limit)})"
    if type(msg) is tuple and len(msg) == 2 and is_reason(msg[0], "$terminate"):
        return f"terminate({safe_repr(msg[1], limit)})"
    return safe_repr(msg, limit)


__all__ = ["exception_of", "format_message", "format_reason", "message_view"]
