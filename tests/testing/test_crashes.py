"""`otp.testing.capture_crashes`, and which crashes count as watched."""

from __future__ import annotations

import logging

import pytest

import otp
from otp.testing import VirtualClock, capture_crashes, start_supervised, wait_idle
from otp.testing._state import TestingState
from otp.testing._state import testing_state as state_of_this_node


async def boom() -> None:
    raise ValueError("boom")


def watch() -> None:
    """Start watching crashes, as the plugin does when a test starts."""
    state_of_this_node("watch")


def unwatched(node_of: otp.Pid) -> list[str]:
    """The reasons of the crashes no process watched, on the node of `node_of`."""
    assert isinstance(node_of, otp.Pid)
    node = node_of.rt  # type: ignore[attr-defined]
    return [r.reason for r in node.exit_hook(TestingState, create=False).unwatched]


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="otp")


class TestCaptureCrashes:
    def test_collects_the_reports_made_inside_the_block(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[str], list[str]]:
            with capture_crashes() as crashes:
                otp.spawn(boom)
                await wait_idle()
            return [c.reason for c in crashes], unwatched(otp.self())

        inside, left = clock.run(main)
        assert inside == ["ValueError: boom"]
        assert left == []

    def test_a_crash_after_the_block_is_not_captured(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, list[str]]:
            with capture_crashes() as crashes:
                pass
            otp.spawn(boom)
            await wait_idle()
            return len(crashes), unwatched(otp.self())

        assert clock.run(main) == (0, ["ValueError: boom"])

    def test_the_innermost_block_gets_the_report(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, int]:
            with capture_crashes() as outer:
                with capture_crashes() as inner:
                    otp.spawn(boom)
                    await wait_idle()
            return len(outer), len(inner)

        assert clock.run(main) == (0, 1)

    def test_the_report_has_the_traceback_and_stays_on_the_node(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, int]:
            with capture_crashes() as crashes:
                otp.spawn(boom)
                await wait_idle()
            node = otp.self().rt  # type: ignore[attr-defined]
            return crashes[0].report, len(node.crash_reports)

        report, kept = clock.run(main)
        assert 'raise ValueError("boom")' in report
        assert kept == 1


class TestWatched:
    def test_a_monitored_crash_is_watched(self, clock: VirtualClock) -> None:
        async def main() -> list[str]:
            watch()
            otp.spawn_monitor(boom)
            await otp.receive()
            return unwatched(otp.self())

        assert clock.run(main) == []

    def test_a_crash_linked_to_a_trapping_process_is_watched(self, clock: VirtualClock) -> None:
        async def main() -> list[str]:
            watch()
            otp.trap_exit(True)
            otp.spawn_link(boom)
            await otp.receive()
            return unwatched(otp.self())

        assert clock.run(main) == []

    def test_a_supervised_child_crash_is_watched(self, clock: VirtualClock) -> None:
        class Crashy(otp.GenServer):
            def init(self, arg: object) -> object:
                return arg

            def handle_cast(self, request: object, state: object) -> otp.NoReply[object]:
                raise RuntimeError("cast crash")

        async def main() -> list[str]:
            watch()
            pid = await start_supervised(Crashy)
            otp.cast(pid, "crash")
            await wait_idle()
            return unwatched(otp.self())

        assert clock.run(main) == []

    def test_an_unlinked_unmonitored_crash_is_not(self, clock: VirtualClock) -> None:
        async def main() -> list[str]:
            watch()
            otp.spawn(boom)
            await wait_idle()
            return unwatched(otp.self())

        assert clock.run(main) == ["ValueError: boom"]
