"""otp.telemetry.opentelemetry: instrument names, units, attributes and values."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from telemetry_servers import Slow, crash_a_supervised_server

import otp
import otp.telemetry.opentelemetry
from otp.testing import VirtualClock


def collected(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }


class TestInstall:
    def test_call_and_cast_durations_are_histograms_in_seconds(self, clock: VirtualClock) -> None:
        reader = InMemoryMetricReader()

        async def main() -> None:
            otp.telemetry.opentelemetry.install(MeterProvider(metric_readers=[reader]))
            pid = await Slow.start_link(None, name="slow")
            assert pid is not None
            assert await otp.call(pid, 0.5) == "done"
            otp.cast(pid, 1.0)
            await otp.sys.get_state(pid)

        clock.run(main)
        metrics = collected(reader)
        call = metrics["otp.call.duration"]
        assert call.unit == "s"
        [point] = call.data.data_points
        assert dict(point.attributes) == {"otp.behaviour": "Slow", "otp.server.name": "slow"}
        assert (point.count, point.sum) == (1, 0.5)
        [cast] = metrics["otp.cast.duration"].data.data_points
        assert cast.sum == 1.0

    def test_a_failed_call_has_an_error_type_and_crashes_restarts_are_counted(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        reader = InMemoryMetricReader()

        async def main() -> None:
            otp.telemetry.opentelemetry.install(MeterProvider(metric_readers=[reader]))
            await crash_a_supervised_server()

        clock.run(main)
        metrics = collected(reader)
        points = metrics["otp.call.duration"].data.data_points
        [call] = [p for p in points if p.attributes["otp.behaviour"] == "Crashy"]
        assert dict(call.attributes) == {"otp.behaviour": "Crashy", "error.type": "RuntimeError"}
        [crash] = metrics["otp.process.crashes"].data.data_points
        assert (dict(crash.attributes), crash.value) == ({"otp.behaviour": "Crashy"}, 1)
        [restart] = metrics["otp.supervisor.restarts"].data.data_points
        assert dict(restart.attributes) == {"otp.supervisor.name": "sup", "otp.child.id": "worker"}
        assert restart.value == 1
        assert metrics["otp.supervisor.restarts"].unit == "{restart}"
