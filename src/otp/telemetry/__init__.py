"""Telemetry: functions called on events of the node, as Erlang's `:telemetry` library.

Attach a handler to an event, a tuple of str; the node calls it as
`handler(event, measurements, metadata, config)` each time the event
happens, in the code that emits it (keep handlers quick: update a counter,
record a histogram). A handler that raises is detached and reported once
on logger "otp.telemetry".

    >>> import otp
    >>> from otp.testing import VirtualClock
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> def on_stop(event, measurements, metadata, config):
    ...     config.append((metadata["request"], measurements["duration"]))
    >>> calls = []
    >>> async def main():
    ...     otp.telemetry.attach("calls", ("otp", "call", "stop"), on_stop, calls)
    ...     await otp.call(await Echo.start_link(None), "hi")
    >>> VirtualClock().run(main)
    >>> calls
    [('hi', 0.0)]

Handlers belong to a node, like its processes: they are attached on the
node of the caller and go away with it. The events the library emits
(durations in seconds, the loop's clock; no handler attached costs an
`is None` test per call or cast):

- `("otp", "call", "start" | "stop" | "exception")`: around a server's
  `handle_call`; measurements `{"monotonic_time"}`, then `{"duration",
  "monotonic_time"}`; metadata `{"server", "name", "behaviour", "request"}`,
  plus `{"kind", "reason"}` for an exception (`kind` is `"exit"` for an
  `otp.Exit`, else `"error"`; `reason` is the exception).
- `("otp", "cast", ...)`: the same around `handle_cast`.
- `("otp", "process", "crash")`: `{"count": 1}`, metadata `{"pid", "name",
  "behaviour", "reason"}`, for each crash logged as a crash report.
- `("otp", "supervisor", "restart")`: `{"count": 1}`, metadata
  `{"supervisor", "supervisor_name", "child_id", "child_pid", "reason"}`
  (`child_pid` is the pid that exited); `("otp", "supervisor", "shutdown")`
  when a supervisor reaches its restart intensity and gives up, metadata
  `{"supervisor", "supervisor_name", "reason"}`.
- `("otp", "mailbox", "long")`: `{"length"}`, metadata `{"pid", "name",
  "behaviour", "kinds"}` (the oldest 10,000 queued messages counted by kind), when a
  mailbox reaches `Node(mailbox_warning=...)` messages and each tenfold.

`otp.telemetry.prometheus` and `otp.telemetry.opentelemetry` turn these
into metrics (extras `otp[prometheus]` and `otp[opentelemetry]`).

Every function acts on the current node: call it from a process, or from
code on the loop of `async with otp.Node():`; elsewhere it raises
`otp.NotInProcess`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from .._runtime import _telemetry
from .._runtime._repr import show
from .._runtime._scheduler import current_node
from .._runtime._telemetry import Event, Handler, HandlerFunction, Span, check_event

__all__ = ["Handler", "attach", "attach_many", "detach", "execute", "list_handlers", "span"]


def attach(
    handler_id: Hashable, event: Event, handler: HandlerFunction, config: object = None
) -> None:
    """Call `handler(event, measurements, metadata, config)` on each `event` of this node.

    >>> import otp
    >>> async def main():
    ...     seen = []
    ...     otp.telemetry.attach("h", ("app", "tick"), lambda *a: seen.append(a))
    ...     otp.telemetry.execute(("app", "tick"), {"n": 1}, {"who": "me"})
    ...     return seen
    >>> otp.run(main)
    [(('app', 'tick'), {'n': 1}, {'who': 'me'}, None)]

    `handler_id` names the handler for `detach`; `config` is passed back
    to it unchanged. The handler runs in the code emitting the event (the
    server handling a call, a dying process...): it must not block.

    Raises:
        ValueError: `handler_id` is already attached, or `event` is not a
            non-empty tuple of str.
        NotInProcess: no node here.
    """
    attach_many(handler_id, [event], handler, config)


def attach_many(
    handler_id: Hashable, events: Iterable[Event], handler: HandlerFunction, config: object = None
) -> None:
    """`attach` one handler, under one id, to each of `events`.

    >>> import otp
    >>> async def main():
    ...     otp.telemetry.attach_many("calls", [("otp", "call", "stop"),
    ...                                         ("otp", "call", "exception")], print)
    ...     return [h.event for h in otp.telemetry.list_handlers(("otp", "call"))]
    >>> otp.run(main)
    [('otp', 'call', 'stop'), ('otp', 'call', 'exception')]
    """
    if isinstance(events, tuple) and events and isinstance(events[0], str):
        raise ValueError(
            f"attach_many takes a list of events, such as [('otp', 'call', 'stop')]; "
            f"got the single event {show(events)}: use attach for one event"
        )
    _telemetry.attach(current_node("otp.telemetry.attach"), handler_id, events, handler, config)


def detach(handler_id: Hashable) -> bool:
    """Detach the handler attached as `handler_id`; False if none was.

    >>> import otp
    >>> async def main():
    ...     otp.telemetry.attach("h", ("app", "tick"), print)
    ...     return otp.telemetry.detach("h"), otp.telemetry.detach("h")
    >>> otp.run(main)
    (True, False)
    """
    return _telemetry.detach(current_node("otp.telemetry.detach"), handler_id)


def list_handlers(prefix: Event | tuple[()] = ()) -> list[Handler]:
    """The handlers attached to events that start with `prefix` (`()`: every handler)."""
    if type(prefix) is not tuple or not all(isinstance(p, str) for p in prefix):
        raise ValueError(
            f"prefix is a tuple of str, such as ('otp', 'call') or () for every handler; "
            f"got {show(prefix)}"
        )
    return _telemetry.list_handlers(current_node("otp.telemetry.list_handlers"), prefix)


def execute(
    event: Event, measurements: Mapping[str, object], metadata: Mapping[str, object] | None = None
) -> None:
    """Emit `event`: call each handler attached to it, in the order attached.

    >>> import otp
    >>> async def main():
    ...     otp.telemetry.attach("h", ("app", "job", "done"),
    ...                          lambda e, m, md, c: print(m["rows"], md["table"]))
    ...     otp.telemetry.execute(("app", "job", "done"), {"rows": 3}, {"table": "users"})
    >>> otp.run(main)
    3 users

    Measurements are numbers (base units: seconds, bytes); metadata says
    what they are about. Returns once every handler ran; a handler that
    raises is detached and logged, and the others still run.
    """
    node = current_node("otp.telemetry.execute")
    if node.telemetry is None:
        return
    check_event(event)
    _telemetry.emit(node, event, dict(measurements), dict(metadata or {}))


@contextmanager
def span(event_prefix: Event, metadata: Mapping[str, object]) -> Iterator[dict[str, object]]:
    """Emit `event_prefix + ("start",)`, then `("stop",)` or `("exception",)`, around a block.

    >>> import otp
    >>> from otp.testing import VirtualClock
    >>> def show_event(event, measurements, metadata, config):
    ...     print(event[-1], sorted(measurements), metadata)
    >>> async def main():
    ...     otp.telemetry.attach_many("h", [("app", "load", "start"),
    ...                                     ("app", "load", "stop")], show_event)
    ...     with otp.telemetry.span(("app", "load"), {"file": "a.csv"}) as meta:
    ...         meta["rows"] = 10
    >>> VirtualClock().run(main)
    start ['monotonic_time', 'system_time'] {'file': 'a.csv'}
    stop ['duration', 'monotonic_time'] {'file': 'a.csv', 'rows': 10}

    As `:telemetry.span`: start has measurements `{"monotonic_time",
    "system_time"}`; stop and exception `{"duration", "monotonic_time"}`
    (seconds, the loop's clock). The block gets a copy of `metadata` to add
    to: stop and exception carry it; exception adds `"kind"` (`"error"`
    for an Exception, `"exit"` for `otp.Exit`, cancellation and other exits)
    and `"reason"` (the exception), which then propagates. Works in sync and
    async code (`with`, also around `await`).
    """
    node = current_node("otp.telemetry.span")
    prefix = check_event(event_prefix, "event_prefix")
    meta = dict(metadata)
    events = ((*prefix, "start"), (*prefix, "stop"), (*prefix, "exception"))
    # The start gets a copy: what the block adds to `meta` is for stop only.
    timed = Span(node, node.loop.time, events, meta, system_time=True, start_metadata=dict(meta))
    try:
        yield meta
    except BaseException as exc:
        timed.exception(exc)
        raise
    timed.stop()
