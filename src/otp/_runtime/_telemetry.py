"""A node's telemetry handlers, and `emit`, which calls them (Erlang's `:telemetry`).

An event is a tuple of strings, such as `("otp", "call", "stop")`; a handler
is a function attached to some events under an id, and called for each as
`handler(event, measurements, metadata, config)`. Handlers belong to a node:
`node.telemetry` is None while none is attached, so that a site emitting an
event costs one attribute read and an `is None` test when telemetry is
unused, and otherwise maps each event to a tuple of its handlers (a fresh
tuple on every change, so that `emit` iterates without copying).

As in `:telemetry`, a handler that raises is detached and reported once on
logger "otp.telemetry": one broken handler cannot break the code emitting
the event, nor flood the log.

>>> from types import SimpleNamespace
>>> node = SimpleNamespace(telemetry=None)
>>> seen = []
>>> attach(node, "h", [("app", "tick")], lambda e, m, md, c: seen.append((e, m)), None)
>>> emit(node, ("app", "tick"), {"count": 1}, {})
>>> seen
[(('app', 'tick'), {'count': 1})]
>>> detach(node, "h"), node.telemetry
(True, None)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from .._errors import Exit
from ._repr import show

logger = logging.getLogger("otp.telemetry")

Event: TypeAlias = tuple[str, ...]
Measurements: TypeAlias = dict[str, object]
Metadata: TypeAlias = dict[str, object]
#: `handler(event, measurements, metadata, config)`; what it returns is ignored.
HandlerFunction: TypeAlias = Callable[[Event, Measurements, Metadata, object], object]


class HasTelemetry(Protocol):
    """What holds a handler table: a `Node` (or, in examples, any object)."""

    telemetry: dict[Event, tuple[Handler, ...]] | None


@dataclass(frozen=True, slots=True)
class Handler:
    """One attached handler for one event, as `list_handlers` returns it."""

    id: Hashable
    event: tuple[str, ...]
    function: HandlerFunction
    config: object


def check_event(event: object, what: str = "an event") -> tuple[str, ...]:
    """`event` if it is a non-empty tuple of str, else a ValueError saying what to pass."""
    if type(event) is not tuple or not event or not all(isinstance(p, str) for p in event):
        raise ValueError(
            f"{what} is a non-empty tuple of str, such as ('otp', 'call', 'stop'); "
            f"got {show(event)}"
        )
    return event


def attach(
    node: HasTelemetry,
    handler_id: Hashable,
    events: Iterable[object],
    function: HandlerFunction,
    config: object,
) -> None:
    """Attach `function` under `handler_id` to each of `events` (`:telemetry.attach_many`)."""
    checked = [check_event(e) for e in events]
    if not checked:
        raise ValueError("attach_many needs at least one event to attach the handler to")
    if not callable(function):
        raise TypeError(
            f"a telemetry handler is a function called as handler(event, measurements, "
            f"metadata, config); got {show(function)} ({type(function).__name__})"
        )
    table = node.telemetry or {}
    if any(h.id == handler_id for hs in table.values() for h in hs):
        raise ValueError(
            f"a telemetry handler with id {show(handler_id)} is already attached: "
            f"detach it first (otp.telemetry.detach) or pick another id"
        )
    table = dict(table)
    for event in checked:
        table[event] = (*table.get(event, ()), Handler(handler_id, event, function, config))
    node.telemetry = table


def detach(node: HasTelemetry, handler_id: Hashable) -> bool:
    """Detach every handler attached under `handler_id`; False when there was none."""
    table = node.telemetry
    if not table:
        return False
    kept = {e: tuple(h for h in hs if h.id != handler_id) for e, hs in table.items()}
    kept = {e: hs for e, hs in kept.items() if hs}
    found = sum(map(len, kept.values())) != sum(map(len, table.values()))
    node.telemetry = kept or None
    return found


def list_handlers(node: HasTelemetry, prefix: tuple[str, ...]) -> list[Handler]:
    """The handlers of every event that starts with `prefix` (`()`: all of them)."""
    table = node.telemetry or {}
    n = len(prefix)
    return [h for event, hs in table.items() if event[:n] == prefix for h in hs]


def emit(
    node: HasTelemetry, event: tuple[str, ...], measurements: Measurements, metadata: Metadata
) -> None:
    """Call each handler of `event`; detach (and log, once) any that raises.

    Callers test `node.telemetry is None` first, which is the common case.
    """
    table = node.telemetry
    if table is None:
        return
    handlers = table.get(event)
    if handlers is None:
        return
    for h in handlers:
        try:
            h.function(event, measurements, metadata, h.config)
        except Exception as exc:
            _failed(node, h, exc)


class Span:
    """A span (`:telemetry.span`): emits `events[0]` now, then `stop` or `exception`.

    `events` are the start, stop and exception events. Times are `clock()`
    seconds (the node's loop clock); the start's measurements are
    `{"monotonic_time"}` (with `"system_time"` too when `system_time`), the
    others' `{"duration", "monotonic_time"}`. The start carries
    `start_metadata` when given, else `metadata`, which stop also carries;
    an exception adds `"kind"` (`"error"` for an Exception other than
    `otp.Exit`, else `"exit"`) and `"reason"` (the exception) to it.
    `otp.telemetry.span` and the spans of GenServer callbacks
    (`_server_telemetry.py`) are each one.
    """

    __slots__ = ("clock", "events", "metadata", "node", "t0")

    def __init__(
        self,
        node: HasTelemetry,
        clock: Callable[[], float],
        events: tuple[Event, Event, Event],
        metadata: Metadata,
        system_time: bool = False,
        start_metadata: Metadata | None = None,
    ) -> None:
        self.node = node
        self.clock = clock
        self.events = events
        self.metadata = metadata
        self.t0 = t0 = clock()
        start: Measurements = {"monotonic_time": t0}
        if system_time:
            start["system_time"] = time.time()
        emit(node, events[0], start, metadata if start_metadata is None else start_metadata)

    def stop(self) -> None:
        t = self.clock()
        emit(
            self.node, self.events[1], {"duration": t - self.t0, "monotonic_time": t}, self.metadata
        )

    def exception(self, exc: BaseException) -> None:
        t = self.clock()
        kind = "error" if isinstance(exc, Exception) and not isinstance(exc, Exit) else "exit"
        metadata = {**self.metadata, "kind": kind, "reason": exc}
        emit(self.node, self.events[2], {"duration": t - self.t0, "monotonic_time": t}, metadata)


def _failed(node: HasTelemetry, handler: Handler, exc: Exception) -> None:
    if not detach(node, handler.id):
        return  # another event of the same handler failed first
    logger.error(
        "The telemetry handler %s failed on event %s and has been detached: %s: %s",
        show(handler.id),
        handler.event,
        type(exc).__name__,
        exc,
        exc_info=exc,
    )


__all__ = [
    "Event",
    "Handler",
    "HandlerFunction",
    "HasTelemetry",
    "attach",
    "check_event",
    "detach",
    "emit",
    "list_handlers",
]
