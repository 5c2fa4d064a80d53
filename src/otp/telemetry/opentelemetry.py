"""OpenTelemetry metrics from otp's telemetry events (extra `otp[opentelemetry]`).

    >>> import otp, otp.telemetry.opentelemetry
    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    >>> reader = InMemoryMetricReader()
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> async def main():
    ...     otp.telemetry.opentelemetry.install(MeterProvider(metric_readers=[reader]))
    ...     await otp.call(await Echo.start_link(None), "hi")
    >>> otp.run(main)
    >>> [m.name for rm in reader.get_metrics_data().resource_metrics
    ...  for sm in rm.scope_metrics for m in sm.metrics]
    ['otp.call.duration']

`install` attaches handlers to the current node that record, in the style
of OpenTelemetry's semantic conventions (dotted names, units in UCUM,
durations in seconds):

| instrument | kind | unit | attributes |
|---|---|---|---|
| `otp.call.duration` | histogram | `s` | `otp.behaviour`, `otp.server.name`, `error.type` |
| `otp.cast.duration` | histogram | `s` | `otp.behaviour`, `otp.server.name`, `error.type` |
| `otp.process.crashes` | counter | `{crash}` | `otp.behaviour` |
| `otp.supervisor.restarts` | counter | `{restart}` | `otp.supervisor.name`, `otp.child.id` |
| `otp.supervisor.shutdowns` | counter | `{shutdown}` | `otp.supervisor.name` |
| `otp.mailbox.long` | counter | `{warning}` | `otp.behaviour`, `otp.server.name` |

An attribute whose value is None (no registered name, a plain process's
behaviour) is left out; `error.type` is set only for a callback that raised
(its exception's class name), as the conventions do for failed requests.
No attribute holds a pid: each would be a new time series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

try:
    from opentelemetry import metrics
    from opentelemetry.metrics import Counter, Histogram, MeterProvider
except ImportError:  # pragma: no cover - depends on the extra
    raise ImportError(
        "otp.telemetry.opentelemetry needs opentelemetry-api: pip install 'otp[opentelemetry]'"
    ) from None

from .. import telemetry
from ._exported import EXPORTED_EVENTS as _EVENTS
from ._exported import label_text as _text

__all__ = ["HANDLER_ID", "install"]

#: The id `install` attaches its handlers under (for `otp.telemetry.detach`).
HANDLER_ID = "otp.telemetry.opentelemetry"


@dataclass(frozen=True)
class _Instruments:
    call: Histogram
    cast: Histogram
    crashes: Counter
    restarts: Counter
    shutdowns: Counter
    mailbox_long: Counter


def install(meter_provider: MeterProvider | None = None) -> None:
    """Record OpenTelemetry metrics of this node's calls, casts, crashes, restarts, mailboxes.

    Args:
        meter_provider: where to record; None: the global one
            (`opentelemetry.metrics.get_meter_provider()`).

    Raises:
        ValueError: this node has them installed already.
        NotInProcess: no node here.
    """
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    meter = provider.get_meter("otp")
    instruments = _Instruments(
        call=meter.create_histogram(
            "otp.call.duration", unit="s", description="Duration of a server's handle_call."
        ),
        cast=meter.create_histogram(
            "otp.cast.duration", unit="s", description="Duration of a server's handle_cast."
        ),
        crashes=meter.create_counter(
            "otp.process.crashes", unit="{crash}", description="Processes that crashed."
        ),
        restarts=meter.create_counter(
            "otp.supervisor.restarts",
            unit="{restart}",
            description="Children restarted by their supervisor.",
        ),
        shutdowns=meter.create_counter(
            "otp.supervisor.shutdowns",
            unit="{shutdown}",
            description="Supervisors that reached their restart intensity and shut down.",
        ),
        mailbox_long=meter.create_counter(
            "otp.mailbox.long",
            unit="{warning}",
            description="Mailboxes that reached the node's mailbox_warning (and each tenfold).",
        ),
    )
    telemetry.attach_many(HANDLER_ID, _EVENTS, _handle, instruments)


def _attributes(**values: object) -> dict[str, str]:
    """OpenTelemetry attributes, dotted (`otp_behaviour` -> `otp.behaviour`), Nones left out."""
    return {
        key.replace("_", "."): _text(value) for key, value in values.items() if value is not None
    }


def _handle(event: tuple[str, ...], m: dict[str, Any], md: dict[str, Any], config: object) -> None:
    assert isinstance(config, _Instruments)
    what = event[1]
    if what in ("call", "cast"):
        attributes = _attributes(otp_behaviour=md["behaviour"], otp_server_name=md["name"])
        if event[2] == "exception":
            attributes["error.type"] = type(md["reason"]).__name__
        histogram = config.call if what == "call" else config.cast
        histogram.record(m["duration"], attributes)
    elif what == "process":
        config.crashes.add(1, _attributes(otp_behaviour=md["behaviour"]))
    elif event[2] == "restart":
        attributes = _attributes(
            otp_supervisor_name=md["supervisor_name"], otp_child_id=md["child_id"]
        )
        config.restarts.add(1, attributes)
    elif event[2] == "shutdown":
        config.shutdowns.add(1, _attributes(otp_supervisor_name=md["supervisor_name"]))
    else:
        attributes = _attributes(otp_behaviour=md["behaviour"], otp_server_name=md["name"])
        config.mailbox_long.add(1, attributes)
