"""otp.telemetry.opentelemetry: instrument names, units, attributes and values."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import otp
import otp.telemetry.opentelemetry
from otp.testing import VirtualClock


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> object:
        return otp.Reply(request, state)

    def handle_cast(self, request: object, state: object) -> object:
        return otp.NoReply(state)


class Slow(otp.GenServer):
    """Takes `request` seconds (on the test's virtual clock) for each call and cast."""

    async def handle_call(self, request: object, from_: otp.From, state: object) -> object:
        assert isinstance(request, float)
        await asyncio.sleep(request)
        return otp.Reply("done", state)

    async def handle_cast(self, request: object, state: object) -> object:
        assert isinstance(request, float)
        await asyncio.sleep(request)
        return otp.NoReply(state)


class Crashy(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> object:
        raise RuntimeError("crash")


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
            sup = await otp.Supervisor.start_link(
                [otp.ChildSpec(id="worker", start=lambda: Crashy.start_link(None))], name="sup"
            )
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(child.pid, "x")
            await otp.sys.get_state(sup)

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
