"""Prometheus metrics from otp's telemetry events (extra `otp[prometheus]`).

    >>> import otp, otp.telemetry.prometheus
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> registry = CollectorRegistry()
    >>> async def main():
    ...     otp.telemetry.prometheus.install(registry)
    ...     await otp.call(await Echo.start_link(None, name="echo"), "hi")
    >>> otp.run(main)
    >>> registry.get_sample_value(
    ...     "otp_call_duration_seconds_count", {"behaviour": "Echo", "name": "echo"})
    1.0

`install` attaches handlers to the current node that keep, following
Prometheus' naming conventions (base units, `_seconds`, `_total`):

| metric | type | labels |
|---|---|---|
| `otp_call_duration_seconds` | histogram | `behaviour`, `name` |
| `otp_call_exceptions_total` | counter | `behaviour`, `name`, `kind` |
| `otp_cast_duration_seconds` | histogram | `behaviour`, `name` |
| `otp_cast_exceptions_total` | counter | `behaviour`, `name`, `kind` |
| `otp_process_crashes_total` | counter | `behaviour` |
| `otp_supervisor_restarts_total` | counter | `supervisor_name`, `child_id` |
| `otp_supervisor_shutdowns_total` | counter | `supervisor_name` |
| `otp_mailbox_long_total` | counter | `behaviour`, `name` |

`name` is the registered name ("" for none), `behaviour` the server's
class label ("process" for a plain process). No label holds a pid: pids
come and go, and each would be a new time series. A call or cast that
raised is counted in its duration histogram too.

Serve the registry as usual, e.g. `prometheus_client.start_http_server(9100)`.
There is no gauge of the number of processes: a scrape runs in the
exporter's thread, which must not read the node's tables (they belong to
the node's event loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

try:
    import prometheus_client
    from prometheus_client import CollectorRegistry, Counter, Histogram
except ImportError:  # pragma: no cover - depends on the extra
    raise ImportError(
        "otp.telemetry.prometheus needs prometheus_client: pip install 'otp[prometheus]'"
    ) from None

from .. import telemetry
from ._exported import EXPORTED_EVENTS as _EVENTS
from ._exported import label_text as _text

__all__ = ["BUCKETS", "HANDLER_ID", "install"]

#: The id `install` attaches its handlers under (for `otp.telemetry.detach`).
HANDLER_ID = "otp.telemetry.prometheus"
#: Histogram buckets, in seconds: calls take microseconds to seconds.
BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass(frozen=True)
class _Metrics:
    call: Histogram
    call_exceptions: Counter
    cast: Histogram
    cast_exceptions: Counter
    crashes: Counter
    restarts: Counter
    shutdowns: Counter
    mailbox_long: Counter


# The metrics of each registry, made once: a registry refuses a second
# metric of the same name, and several nodes (one after the other, as in
# tests, or side by side) may export to the same registry.
_by_registry: WeakKeyDictionary[CollectorRegistry, _Metrics] = WeakKeyDictionary()


def install(
    registry: CollectorRegistry | None = None, *, buckets: Sequence[float] = BUCKETS
) -> None:
    """Keep Prometheus metrics of this node's calls, casts, crashes, restarts and mailboxes.

    Args:
        registry: where the metrics live; None: prometheus_client's default
            `REGISTRY`, which `start_http_server` serves.
        buckets: the bounds of the duration histograms, in seconds (used
            when the registry gets its otp metrics, on the first install).

    Raises:
        ValueError: this node has them installed already.
        NotInProcess: no node here.
    """
    registry = prometheus_client.REGISTRY if registry is None else registry
    metrics = _by_registry.get(registry)
    if metrics is None:
        metrics = _by_registry[registry] = _make(registry, tuple(buckets))
    telemetry.attach_many(HANDLER_ID, _EVENTS, _handle, metrics)


def _make(registry: CollectorRegistry, buckets: tuple[float, ...]) -> _Metrics:
    server = ["behaviour", "name"]
    return _Metrics(
        call=Histogram(
            "otp_call_duration_seconds",
            "Time a server took to handle a call (handle_call), in seconds.",
            server,
            registry=registry,
            buckets=buckets,
        ),
        call_exceptions=Counter(
            "otp_call_exceptions",
            "Calls whose handle_call raised.",
            [*server, "kind"],
            registry=registry,
        ),
        cast=Histogram(
            "otp_cast_duration_seconds",
            "Time a server took to handle a cast (handle_cast), in seconds.",
            server,
            registry=registry,
            buckets=buckets,
        ),
        cast_exceptions=Counter(
            "otp_cast_exceptions",
            "Casts whose handle_cast raised.",
            [*server, "kind"],
            registry=registry,
        ),
        crashes=Counter(
            "otp_process_crashes",
            "Processes that crashed (crash reports).",
            ["behaviour"],
            registry=registry,
        ),
        restarts=Counter(
            "otp_supervisor_restarts",
            "Children restarted by their supervisor.",
            ["supervisor_name", "child_id"],
            registry=registry,
        ),
        shutdowns=Counter(
            "otp_supervisor_shutdowns",
            "Supervisors that reached their restart intensity and shut down.",
            ["supervisor_name"],
            registry=registry,
        ),
        mailbox_long=Counter(
            "otp_mailbox_long",
            "Mailboxes that reached the node's mailbox_warning (and each tenfold).",
            server,
            registry=registry,
        ),
    )


def _handle(event: tuple[str, ...], m: dict[str, Any], md: dict[str, Any], metrics: object) -> None:
    assert isinstance(metrics, _Metrics)
    what = event[1]
    if what in ("call", "cast"):
        behaviour, name = _text(md["behaviour"]), _text(md["name"])
        histogram = metrics.call if what == "call" else metrics.cast
        histogram.labels(behaviour, name).observe(m["duration"])
        if event[2] == "exception":
            errors = metrics.call_exceptions if what == "call" else metrics.cast_exceptions
            errors.labels(behaviour, name, md["kind"]).inc()
    elif what == "process":
        metrics.crashes.labels(_text(md["behaviour"]) or "process").inc()
    elif event[2] == "restart":
        metrics.restarts.labels(_text(md["supervisor_name"]), _text(md["child_id"])).inc()
    elif event[2] == "shutdown":
        metrics.shutdowns.labels(_text(md["supervisor_name"])).inc()
    else:
        metrics.mailbox_long.labels(_text(md["behaviour"]) or "process", _text(md["name"])).inc()
