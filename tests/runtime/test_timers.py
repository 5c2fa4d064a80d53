"""`send_after`, `cancel_timer` and `read_timer`, on the virtual clock."""

from __future__ import annotations

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


async def forever() -> None:
    await otp.receive(match=lambda m: False)


class TestSendAfter:
    def test_the_message_arrives_after_exactly_the_delay(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "tick", 2.5)
            return await otp.receive(), clock.time()

        assert clock.run(main) == ("tick", 2.5)

    def test_a_zero_delay_sends_on_the_next_loop_step(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "now", 0)
            return await otp.receive(), clock.time()

        assert clock.run(main) == ("now", 0.0)

    def test_timers_fire_in_deadline_order(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            for delay in [5, 1, 3, 2, 4]:
                otp.send_after(otp.self(), delay, delay)
            return [await otp.receive() for _ in range(5)]

        assert clock.run(main) == [1, 2, 3, 4, 5]

    def test_timers_due_together_fire_in_the_order_they_were_started(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            for i in range(20):
                otp.send_after(otp.self(), i, 1.0)
            return [await otp.receive() for _ in range(20)]

        assert clock.run(main) == list(range(20))

    def test_a_name_is_resolved_when_the_timer_fires(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.send_after("later", "hello", 1)
            otp.register("later", otp.self())
            return await otp.receive()

        assert clock.run(main) == "hello"

    def test_a_name_nobody_holds_when_it_fires_drops_the_message(self, clock: VirtualClock) -> None:
        async def main() -> float:
            otp.send_after("nobody", "lost", 1)
            otp.send_after(otp.self(), "after", 2)
            assert await otp.receive() == "after"
            return clock.time()

        assert clock.run(main) == 2.0

    def test_a_timer_to_a_dead_process_is_dropped(self, clock: VirtualClock) -> None:
        async def main() -> float:
            pid, _ref = otp.spawn_monitor(forever)
            otp.send_after(pid, "lost", 1)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=3)
            return clock.time()

        assert clock.run(main) == 3.0

    def test_a_timer_to_a_pid_is_cancelled_when_the_process_exits(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            pid, _ref = otp.spawn_monitor(forever)
            ref = otp.send_after(pid, "lost", 5)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            return otp.read_timer(ref), otp.cancel_timer(ref)

        assert clock.run(main) == (None, None)

    def test_a_timer_to_a_pid_that_is_already_dead_is_cancelled_at_once(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, str]:
            pid, _ref = otp.spawn_monitor(forever)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            ref = otp.send_after(pid, "lost", 5)
            return otp.cancel_timer(ref), repr(ref)

        assert clock.run(main) == (None, "<TimerRef cancelled>")

    def test_the_timers_of_a_dead_process_no_longer_hold_the_clock(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> float:
            pid, _ref = otp.spawn_monitor(forever)
            otp.send_after(pid, "lost", 100)
            otp.send_after(otp.self(), "mine", 100)  # due together: kept
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            assert await otp.receive() == "mine"
            return clock.time()

        assert clock.run(main) == 100.0

    def test_a_timer_to_a_name_outlives_the_process_that_held_the_name(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object, float]:
            pid, _ref = otp.spawn_monitor(forever)
            otp.register("later", pid)
            ref = otp.send_after("later", "hello", 5)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            left = otp.read_timer(ref)
            otp.register("later", otp.self())
            return left, await otp.receive(), clock.time()

        assert clock.run(main) == (5.0, "hello", 5.0)

    def test_a_negative_delay_raises_value_error(self) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="seconds must be >= 0"):
                otp.send_after(otp.self(), "x", -1)

        otp.run(main)

    def test_a_bad_destination_raises_at_once(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError):
                otp.send_after(3.14, "x", 1)

        otp.run(main)


class TestCancelTimer:
    def test_returns_the_exact_time_left(self, clock: VirtualClock) -> None:
        async def main() -> object:
            ref = otp.send_after(otp.self(), "x", 10)
            otp.send_after(otp.self(), "wake", 3.25)
            await otp.receive()
            return otp.cancel_timer(ref)

        assert clock.run(main) == 6.75

    def test_a_cancelled_timer_never_delivers(self, clock: VirtualClock) -> None:
        async def main() -> float:
            ref = otp.send_after(otp.self(), "cancelled", 1)
            otp.cancel_timer(ref)
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=5)
            return clock.time()

        assert clock.run(main) == 5.0

    def test_a_fired_timer_returns_none(self, clock: VirtualClock) -> None:
        async def main() -> object:
            ref = otp.send_after(otp.self(), "x", 1)
            await otp.receive()
            return otp.cancel_timer(ref)

        assert clock.run(main) is None

    def test_a_second_cancel_returns_none(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            ref = otp.send_after(otp.self(), "x", 1)
            return otp.cancel_timer(ref), otp.cancel_timer(ref)

        assert clock.run(main) == (1.0, None)

    def test_cancelling_one_of_several_timers_due_together_keeps_the_others(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            refs = [otp.send_after(otp.self(), i, 1.0) for i in range(4)]
            otp.cancel_timer(refs[1])
            otp.cancel_timer(refs[3])
            got = [await otp.receive(), await otp.receive()]
            await wait_idle()
            return got

        assert clock.run(main) == [0, 2]

    def test_cancelled_timers_do_not_move_the_clock(self, clock: VirtualClock) -> None:
        async def main() -> float:
            for i in range(3):
                otp.cancel_timer(otp.send_after(otp.self(), i, 100.0))
            otp.send_after(otp.self(), "end", 1)
            await otp.receive()
            await wait_idle()
            return clock.time()

        assert clock.run(main) == 1.0

    def test_a_timer_can_be_started_again_at_a_cancelled_deadline(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            otp.cancel_timer(otp.send_after(otp.self(), "old", 1))
            otp.send_after(otp.self(), "new", 1)
            return await otp.receive()

        assert clock.run(main) == "new"

    def test_needs_a_timer_ref(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="TimerRef"):
                otp.cancel_timer("ref")  # type: ignore[arg-type]

        otp.run(main)

    def test_the_repr_shows_the_state(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, str]:
            ref = otp.send_after(otp.self(), "x", 2)
            before = repr(ref)
            otp.cancel_timer(ref)
            return before, repr(ref)

        assert clock.run(main) == ("<TimerRef due at 2.000>", "<TimerRef cancelled>")


class TestReadTimer:
    def test_returns_the_exact_time_left_and_leaves_the_timer_running(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object, float]:
            ref = otp.send_after(otp.self(), "x", 10)
            otp.send_after(otp.self(), "wake", 3.25)
            await otp.receive()
            left = otp.read_timer(ref)
            return left, await otp.receive(), clock.time()

        assert clock.run(main) == (6.75, "x", 10.0)

    def test_a_fired_timer_returns_none(self, clock: VirtualClock) -> None:
        async def main() -> object:
            ref = otp.send_after(otp.self(), "x", 1)
            await otp.receive()
            return otp.read_timer(ref)

        assert clock.run(main) is None

    def test_a_cancelled_timer_returns_none(self, clock: VirtualClock) -> None:
        async def main() -> object:
            ref = otp.send_after(otp.self(), "x", 1)
            otp.cancel_timer(ref)
            return otp.read_timer(ref)

        assert clock.run(main) is None

    def test_needs_a_timer_ref(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="read_timer needs the TimerRef"):
                otp.read_timer("ref")  # type: ignore[arg-type]

        otp.run(main)
