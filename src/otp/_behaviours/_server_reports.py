"""How a server reports itself: crash reports, slow-callback reports, its status.

`ServerReports` is the part of `ServerProcess` that writes to logger "otp";
the functions below show an exit reason and the message being handled.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .._runtime._crash_reports import log_crash
from .._runtime._process import Process, is_reason
from .._runtime._repr import MESSAGE_LIMIT, describe_exception, safe_repr
from ._server_messages import GEN_CAST, From

if TYPE_CHECKING:
    from ._gen_server import GenServer

logger = logging.getLogger("otp")


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


class ServerReports(Process):
    """The reports of a server: the base of `ServerProcess`, which holds these fields."""

    __slots__ = ("impl", "last", "state")

    impl: GenServer
    state: object
    last: object

    def describe(self) -> str:
        name = f" ({safe_repr(self.name, MESSAGE_LIMIT)})" if self.name is not None else ""
        return f"{self.behaviour} {self._label()}{name}"

    def format_status(self, reason: object) -> dict[str, object]:
        """The status a report shows, shaped by the callback `format_status`."""
        status: dict[str, object] = {
            "state": self.state,
            "message": message_view(self.last),
            "reason": reason,
        }
        try:
            shaped = self.impl.format_status(dict(status))
        except Exception as exc:
            # format_status often hides secrets: show neither state nor message.
            hidden = f"<hidden: format_status raised {type(exc).__name__}: {exc}>"
            return {"state": hidden, "message": hidden, "reason": reason}
        if not isinstance(shaped, dict):
            hidden = f"<hidden: format_status returned {type(shaped).__name__}, not a dict>"
            return {"state": hidden, "message": hidden, "reason": reason}
        return shaped

    def report_crash(self, reason: object, exc: BaseException | None, init: bool = False) -> None:
        """Log the one crash report of this server on logger "otp".

        Each of reason, message and state is cut to the node's
        `report_limit` characters; no value can make the report fail. The
        report also joins `node.crash_reports` and is emitted as the
        telemetry event `("otp", "process", "crash")`.
        """
        status = self.format_status(reason)
        what = "failed to start: init raised" if init else "terminating"
        limit = self.rt.report_limit
        fmt = "GenServer %s %s\n** Reason: %s\n** Last message: %s\n** State: %s"
        args = (
            self.describe(),
            what,
            format_reason(reason, limit),
            format_message(status.get("message"), limit),
            safe_repr(status.get("state"), limit),
        )
        log_crash(self, reason, fmt, args, exc)

    def report_nested_slow(self, msg: object, t0: float, t1: float) -> None:
        """Report a callback run inside another process's step (an inline call, init).

        The node remembers it, so that the step around it does not report
        the same time again (see `Node.reported_within`).
        """
        self.report_slow(msg, t1 - t0)
        self.rt.reported_slow.appendleft((t1, t1 - t0))

    def report_slow_step(self, elapsed: float, what: object) -> None:
        """A step of an `async def` callback, init or terminate held the loop."""
        self.report_slow(self.last if what is None else what, elapsed)

    def report_slow(self, msg: object, elapsed: float) -> None:
        logger.warning(
            "GenServer %s held the event loop for %.0f ms handling %s "
            "(threshold %.0f ms): move blocking work to a thread or a Task",
            self.describe(),
            elapsed * 1000,
            format_message(message_view(msg), self.rt.report_limit),
            (self.rt.slow_callback or 0) * 1000,
        )


__all__ = ["ServerReports", "exception_of", "format_message", "format_reason", "message_view"]
