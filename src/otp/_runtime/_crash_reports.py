"""The node's recent crash reports, and the `("otp", "process", "crash")` event.

Every process crash (a plain process or task in `run_body`, a GenServer or
supervisor in its crash report) is reported through `log_crash`, which
logs it on logger "otp" and keeps it: the report, as logged and with its
traceback, joins
`node.crash_reports`, a ring of the last `CRASH_REPORTS` reports that tools
(the observer's "recent crash reports") read, and the crash is emitted as
a telemetry event when handlers are attached.

>>> import asyncio, logging, otp
>>> async def boom():
...     raise ValueError("no")
>>> async def main():
...     async with otp.Node() as node:
...         await otp.spawn(boom).wait_exit()
...         report = node.crash_reports[-1]
...         return report.reason, report.behaviour, "Traceback" in report.report
>>> logging.disable(logging.ERROR)
>>> asyncio.run(main())
('ValueError: no', None, True)
>>> logging.disable(logging.NOTSET)
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._ids import Pid
from ._repr import MESSAGE_LIMIT, describe_exception, safe_repr
from ._telemetry import emit

if TYPE_CHECKING:
    from ._process import Process

#: How many crash reports a node keeps (`node.crash_reports`).
CRASH_REPORTS = 100
#: A report's text is cut to this many times the node's `report_limit`.
REPORT_FACTOR = 4

CRASH = ("otp", "process", "crash")

logger = logging.getLogger("otp")


@dataclass(frozen=True, slots=True)
class CrashReport:
    """One crash, as logged: when, who, why, and the whole report."""

    time: float  # time.time() of the crash
    pid: Pid
    name: str | None  # its registered name, if it had one
    behaviour: str | None  # "GenServer", "Supervisor", a class label; None: a plain process
    reason: str  # the reason, shortly: "ValueError: no"
    report: str  # the report as logged, traceback included (cut to a few report_limits)


def short_reason(reason: object) -> str:
    """`"TypeName: message"` for an exception, else the reason's repr, cut short."""
    if isinstance(reason, BaseException):
        return describe_exception(reason, MESSAGE_LIMIT)
    return safe_repr(reason, MESSAGE_LIMIT)


def log_crash(
    proc: Process, reason: object, fmt: str, args: tuple[object, ...], exc: BaseException | None
) -> None:
    """Log the crash report `fmt % args` (with `exc`'s traceback), keep it, emit the crash."""
    logger.error(fmt, *args, exc_info=exc)
    node = proc.rt
    limit = REPORT_FACTOR * node.report_limit
    text = _report_text(fmt, args, exc)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters)"
    shown = short_reason(reason)
    behaviour = proc.behaviour
    node.crash_reports.append(CrashReport(time.time(), proc, proc.name, behaviour, shown, text))
    if node.telemetry is not None:
        metadata = {"pid": proc, "name": proc.name, "behaviour": behaviour, "reason": reason}
        emit(node, CRASH, {"count": 1}, metadata)


def _report_text(fmt: str, args: tuple[object, ...], exc: BaseException | None) -> str:
    try:
        text = fmt % args
    except Exception as error:  # a report never fails: keep what can be shown
        text = f"{fmt} (formatting failed: {type(error).__name__})"
    if exc is not None:
        try:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip("\n")
        except Exception:  # pragma: no cover - a traceback that cannot be shown
            pass
    return text


__all__ = ["CRASH_REPORTS", "CrashReport", "log_crash", "short_reason"]
