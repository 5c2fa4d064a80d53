"""otp.telemetry.prometheus: metric names, labels and values."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from telemetry_servers import Echo, Slow, crash_a_supervised_server

import otp
import otp.telemetry.prometheus
from otp.testing import VirtualClock


class TestInstall:
    def test_calls_and_casts_are_histograms_by_behaviour_and_name(
        self, clock: VirtualClock
    ) -> None:
        registry = CollectorRegistry()

        async def main() -> None:
            otp.telemetry.prometheus.install(registry)
            pid = await Slow.start_link(None, name="slow")
            assert pid is not None
            assert await otp.call(pid, 0.25) == "done"
            otp.cast(pid, 2.0)
            await otp.sys.get_state(pid)

        clock.run(main)
        labels = {"behaviour": "Slow", "name": "slow"}
        get = registry.get_sample_value
        assert get("otp_call_duration_seconds_count", labels) == 1.0
        assert get("otp_call_duration_seconds_sum", labels) == 0.25
        assert get("otp_call_duration_seconds_bucket", {**labels, "le": "0.25"}) == 1.0
        assert get("otp_call_duration_seconds_bucket", {**labels, "le": "0.1"}) == 0.0
        assert get("otp_cast_duration_seconds_sum", labels) == 2.0
        assert "pid" not in generate_latest(registry).decode()

    def test_exceptions_crashes_and_restarts_are_counters(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        registry = CollectorRegistry()

        async def boom() -> None:
            raise ValueError("no")

        async def main() -> None:
            otp.telemetry.prometheus.install(registry)
            await crash_a_supervised_server()
            otp.spawn_monitor(boom)
            await otp.receive(match=lambda m: m if isinstance(m, otp.Down) else None)

        clock.run(main)
        get = registry.get_sample_value
        assert (
            get("otp_call_exceptions_total", {"behaviour": "Crashy", "name": "", "kind": "error"})
            == 1.0
        )
        assert get("otp_process_crashes_total", {"behaviour": "Crashy"}) == 1.0
        assert get("otp_process_crashes_total", {"behaviour": "process"}) == 1.0
        assert (
            get("otp_supervisor_restarts_total", {"supervisor_name": "sup", "child_id": "worker"})
            == 1.0
        )

    def test_long_mailboxes_are_counted(self, clock: VirtualClock) -> None:
        registry = CollectorRegistry()

        async def main() -> None:
            otp.telemetry.prometheus.install(registry)
            pid = await Echo.start_link(None, name="echo")
            assert pid is not None
            await otp.sys.suspend(pid)
            for i in range(10):
                otp.cast(pid, ("put", i))
            await otp.sys.resume(pid)

        clock.run(main, mailbox_warning=10)
        value = registry.get_sample_value(
            "otp_mailbox_long_total", {"behaviour": "Echo", "name": "echo"}
        )
        assert value == 1.0

    def test_nodes_one_after_the_other_share_a_registry(self, clock: VirtualClock) -> None:
        registry = CollectorRegistry()

        async def main() -> None:
            otp.telemetry.prometheus.install(registry)
            pid = await Echo.start_link(None)
            assert pid is not None
            await otp.call(pid, "hi")

        clock.run(main)
        clock.run(main)
        count = registry.get_sample_value(
            "otp_call_duration_seconds_count", {"behaviour": "Echo", "name": ""}
        )
        assert count == 2.0

    def test_installing_twice_on_a_node_raises(self, clock: VirtualClock) -> None:
        async def main() -> None:
            registry = CollectorRegistry()
            otp.telemetry.prometheus.install(registry)
            with pytest.raises(ValueError, match="already attached"):
                otp.telemetry.prometheus.install(registry)

        clock.run(main)
