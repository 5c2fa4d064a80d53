"""RestartIntensity: OTP's max_restarts within max_seconds, as a sliding window."""

from __future__ import annotations

from otp._behaviours._intensity import RestartIntensity


class TestExceeded:
    def test_max_restarts_within_the_period_are_allowed(self) -> None:
        limit = RestartIntensity(max_restarts=3, max_seconds=5.0)
        assert [limit.exceeded(t) for t in (0.0, 1.0, 2.0)] == [False, False, False]

    def test_one_more_within_the_period_is_too_many(self) -> None:
        limit = RestartIntensity(max_restarts=3, max_seconds=5.0)
        assert [limit.exceeded(t) for t in (0.0, 1.0, 2.0, 4.9)] == [False] * 3 + [True]

    def test_a_restart_exactly_max_seconds_ago_still_counts(self) -> None:
        # OTP's add_restart keeps each restart R >= Now - Period.
        limit = RestartIntensity(max_restarts=1, max_seconds=5.0)
        assert limit.exceeded(0.0) is False
        assert limit.exceeded(5.0) is True  # 0.0 is exactly 5 s ago: two in the period

    def test_a_restart_just_over_max_seconds_ago_is_forgotten(self) -> None:
        limit = RestartIntensity(max_restarts=1, max_seconds=5.0)
        assert limit.exceeded(0.0) is False
        assert limit.exceeded(5.001) is False  # 0.0 is older than the period: forgotten
        assert limit.exceeded(10.001) is True  # 5.001 is exactly 5 s ago: two

    def test_max_restarts_zero_gives_up_on_the_first_restart(self) -> None:
        assert RestartIntensity(max_restarts=0, max_seconds=5.0).exceeded(0.0) is True

    def test_restarts_at_the_same_instant_all_count(self) -> None:
        limit = RestartIntensity(max_restarts=2, max_seconds=1.0)
        assert [limit.exceeded(7.0) for _ in range(3)] == [False, False, True]

    def test_many_restarts_spread_over_time_never_trip_it(self) -> None:
        limit = RestartIntensity(max_restarts=3, max_seconds=5.0)
        assert not any(limit.exceeded(t * 2.0) for t in range(10_000))

    def test_it_remembers_no_more_than_the_restarts_within_the_period(self) -> None:
        limit = RestartIntensity(max_restarts=3, max_seconds=5.0)
        for t in range(10_000):
            limit.exceeded(t * 2.0)
            assert len(limit.times) <= 3  # t, t-2 and t-4; t-6 is gone

    def test_it_agrees_with_filtering_the_whole_list_each_time(self) -> None:
        # The rule the window implements: keep the times at most max_seconds ago.
        times = [0.0, 0.5, 0.5, 2.0, 6.0, 6.5, 7.0, 11.0, 11.0, 16.0, 16.5, 16.9, 17.0]
        limit = RestartIntensity(max_restarts=2, max_seconds=5.0)
        kept: list[float] = []
        for now in times:
            kept = [t for t in kept if now - t <= 5.0] + [now]
            assert limit.exceeded(now) is (len(kept) > 2)
            assert list(limit.times) == kept


class TestRepr:
    def test_it_shows_the_restarts_counted_and_the_limit(self) -> None:
        limit = RestartIntensity(max_restarts=3, max_seconds=5.0)
        limit.exceeded(0.0)
        assert repr(limit) == "<RestartIntensity 1 of 3 restarts in 5 s>"
