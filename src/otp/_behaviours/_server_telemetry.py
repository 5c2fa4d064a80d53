"""The telemetry of a server: spans around `handle_call` and `handle_cast`.

While any telemetry handler is attached to the node, a server's calls and
casts leave the fast paths of its batch and of inline calls (which test
`node.telemetry is None` once per batch, or once per inline call) and go
through `ServerProcess.handle_call` and `handle`, which time each callback
with a span (`_runtime._telemetry.Span`, as `otp.telemetry.span`):

    ("otp", "call", "start")      {"monotonic_time": t}
    ("otp", "call", "stop")       {"duration": s, "monotonic_time": t}
    ("otp", "call", "exception")  {"duration": s, "monotonic_time": t}

and the same for `"cast"`, with metadata `{"server", "name", "behaviour",
"request"}`, plus `"kind"` and `"reason"` for an exception. Times are the
loop's clock (`loop.time()`, monotonic; virtual on `otp.testing.VirtualClock`),
in seconds. The span of an `async def` callback ends when its coroutine
returns. `kind` is `"exit"` when the callback raised `otp.Exit`, else
`"error"` (Python has no `throw`); `reason` is the exception. A server
killed in the middle of an async callback emits neither stop nor exception.

>>> import otp
>>> class Echo(otp.GenServer):
...     def handle_call(self, request, from_, state):
...         return otp.Reply(request, state)
>>> seen = []
>>> async def main():
...     otp.telemetry.attach("log", ("otp", "call", "stop"),
...                          lambda e, m, md, c: seen.append(md["request"]))
...     await otp.call(await Echo.start_link(None), "hi")
>>> otp.run(main)
>>> seen
['hi']
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from .._runtime._telemetry import Event, Span, emit

if TYPE_CHECKING:
    from .._runtime._process import Process
    from ._server_messages import From
    from ._server_process import ServerProcess

CoroutineType = types.CoroutineType

CALL: tuple[Event, Event, Event] = (
    ("otp", "call", "start"),
    ("otp", "call", "stop"),
    ("otp", "call", "exception"),
)
CAST: tuple[Event, Event, Event] = (
    ("otp", "cast", "start"),
    ("otp", "cast", "stop"),
    ("otp", "cast", "exception"),
)


def timed_call(proc: ServerProcess, from_: From) -> None:
    """`handle_call`, as a telemetry span (see the module docstring)."""
    request = from_.request
    meta = {"server": proc, "name": proc.name, "behaviour": proc.behaviour, "request": request}
    span = Span(proc.rt, proc.rt.loop.time, CALL, meta)
    try:
        r = proc.impl.handle_call(request, from_, proc.state)
    except Exception as exc:
        span.exception(exc)
        proc.call_failed(from_, exc)
        return
    if type(r) is CoroutineType:
        try:
            proc.go_async(r, from_, span)  # the span ends with the coroutine
        except Exception as exc:
            proc.call_failed(from_, exc)
        return
    span.stop()
    proc.call_result(r, from_)


def timed_cast(proc: ServerProcess, request: object) -> None:
    """`dispatch(handle_cast, request)`, as a telemetry span."""
    meta = {"server": proc, "name": proc.name, "behaviour": proc.behaviour, "request": request}
    span = Span(proc.rt, proc.rt.loop.time, CAST, meta)
    callback = proc.impl.handle_cast
    try:
        r = callback(request, proc.state)
    except Exception as exc:
        span.exception(exc)
        proc.crash(exc)
        return
    try:
        if type(r) is CoroutineType:
            proc.go_async(r, None, span)
            return
        span.stop()
        proc.after_noreply(r, callback)
    except Exception as exc:
        proc.crash(exc)


RESTART = ("otp", "supervisor", "restart")
SHUTDOWN = ("otp", "supervisor", "shutdown")
#: The reason of `("otp", "supervisor", "shutdown")`, as in OTP's supervisor report.
MAX_INTENSITY = "reached_max_restart_intensity"


def supervisor_restart(sup: Process, child_id: object, child_pid: object, reason: object) -> None:
    """Emit that supervisor `sup` restarts a child that exited with `reason`."""
    node = sup.rt
    if node.telemetry is not None:
        metadata = {
            "supervisor": sup,
            "supervisor_name": sup.name,
            "child_id": child_id,
            "child_pid": child_pid,
            "reason": reason,
        }
        emit(node, RESTART, {"count": 1}, metadata)


def supervisor_shutdown(sup: Process, reason: object = MAX_INTENSITY) -> None:
    """Emit that supervisor `sup` gives up and shuts down (its restart intensity is reached)."""
    node = sup.rt
    if node.telemetry is not None:
        metadata = {"supervisor": sup, "supervisor_name": sup.name, "reason": reason}
        emit(node, SHUTDOWN, {"count": 1}, metadata)


__all__ = [
    "CALL",
    "CAST",
    "supervisor_restart",
    "supervisor_shutdown",
    "timed_call",
    "timed_cast",
]
