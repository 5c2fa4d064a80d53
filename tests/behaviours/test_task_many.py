"""`otp.Task.await_many`, `otp.Task.yield_many` and `otp.Task.ignore`, against Elixir's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_task import drain

import otp
from otp.testing import VirtualClock, wait_idle


async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def forever() -> None:
    await otp.receive(match=lambda _: False)


async def crash_after(seconds: float) -> None:
    await asyncio.sleep(seconds)
    raise ValueError("boom")


def linked_and_monitored(task: otp.Task[Any]) -> tuple[bool, bool]:
    info = otp.process_info(otp.self())
    assert info is not None
    links, monitors = info["links"], info["monitors"]
    assert isinstance(links, list) and isinstance(monitors, list)
    return task.pid in links, task.pid in monitors


class TestAwaitMany:
    def test_returns_the_results_in_the_order_of_the_tasks(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[float], float]:
            tasks = [otp.Task.async_(nap, s) for s in (3.0, 1.0, 2.0)]
            return await otp.Task.await_many(tasks), clock.time()

        assert clock.run(main) == ([3.0, 1.0, 2.0], 3.0)

    def test_an_empty_list_returns_an_empty_list_at_once(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float]:
            return await otp.Task.await_many([]), clock.time()

        assert clock.run(main) == ([], 0.0)

    def test_a_task_given_twice_gives_its_result_twice(self, clock: VirtualClock) -> None:
        async def main() -> list[float]:
            task = otp.Task.async_(nap, 1.0)
            other = otp.Task.async_(nap, 2.0)
            return await otp.Task.await_many([task, other, task])

        assert clock.run(main) == [1.0, 2.0, 1.0]

    def test_tasks_that_already_finished_leave_no_message_behind(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[float], list[object]]:
            tasks = [otp.Task.async_(nap, 0.0) for _ in range(3)]
            await wait_idle()  # every reply and Down is queued by now
            return await otp.Task.await_many(tasks), await drain()

        assert clock.run(main) == ([0.0, 0.0, 0.0], [])

    def test_one_deadline_covers_all_tasks_and_kills_the_unfinished(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[float, list[bool], list[object]]:
            tasks: list[otp.Task[Any]] = [
                otp.Task.async_(nap, 1.0),
                otp.Task.async_(forever),
                otp.Task.async_(forever),
            ]
            with pytest.raises(TimeoutError, match=r"2 of 3 tasks did not finish within 2\.5 s"):
                await otp.Task.await_many(tasks, timeout=2.5)
            at = clock.time()
            await wait_idle()
            return at, [otp.is_alive(t.pid) for t in tasks], await drain()

        assert clock.run(main) == (2.5, [False, False, False], [])

    def test_the_tasks_cannot_be_awaited_again_after_a_timeout(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(forever)
            with pytest.raises(TimeoutError):
                await otp.Task.await_many([task], timeout=0)
            with pytest.raises(RuntimeError, match="already taken"):
                await otp.Task.await_(task)

        clock.run(main)

    def test_a_crash_takes_the_linked_caller_down_with_its_reason(
        self, clock: VirtualClock
    ) -> None:
        async def owner() -> None:
            tasks: list[otp.Task[Any]] = [otp.Task.async_(forever), otp.Task.async_(crash_after, 1)]
            await otp.Task.await_many(tasks)

        async def main() -> tuple[object, float]:
            _, ref = otp.spawn_monitor(owner)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, clock.time()

        reason, at = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "boom" and at == 1.0

    def test_a_trapping_caller_gets_exit_and_the_other_tasks_are_killed(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float, bool]:
            otp.trap_exit(True)
            slow = otp.Task.async_(forever)
            with pytest.raises(otp.Exit) as caught:
                await otp.Task.await_many([slow, otp.Task.async_(crash_after, 2)])
            at = clock.time()
            await wait_idle()
            return caught.value.reason, at, otp.is_alive(slow.pid)

        reason, at, alive = clock.run(main)
        assert isinstance(reason, ValueError) and at == 2.0 and not alive

    def test_a_task_of_another_process_raises_before_waiting(self, clock: VirtualClock) -> None:
        async def main() -> tuple[float, bool]:
            theirs: asyncio.Future[otp.Task[Any]] = asyncio.get_running_loop().create_future()

            async def other() -> None:
                theirs.set_result(otp.Task.async_(forever))
                await otp.receive()

            otp.spawn(other)
            mine: otp.Task[Any] = otp.Task.async_(nap, 1.0)
            with pytest.raises(RuntimeError, match="Only the process that started a task"):
                await otp.Task.await_many([mine, await theirs])
            return clock.time(), otp.is_alive(mine.pid)

        assert clock.run(main) == (0.0, True)

    def test_one_task_instead_of_a_list_is_a_type_error(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(nap, 0.0)
            with pytest.raises(TypeError, match=r"write Task.await_many\(\[task\]\)"):
                await otp.Task.await_many(task)  # type: ignore[arg-type]
            await task

        clock.run(main)


class TestYieldMany:
    def test_pairs_each_task_with_its_outcome_or_none(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float, bool]:
            slow = otp.Task.async_(forever)
            tasks: list[otp.Task[Any]] = [
                otp.Task.async_(nap, 1.0),
                slow,
                otp.Task.async_(nap, 2.0),
            ]
            pairs = await otp.Task.yield_many(tasks, timeout=3.0)
            assert [task for task, _ in pairs] == tasks
            return [outcome for _, outcome in pairs], clock.time(), otp.is_alive(slow.pid)

        assert clock.run(main) == ([("ok", 1.0), None, ("ok", 2.0)], 3.0, True)

    def test_returns_as_soon_as_every_task_has_an_outcome(self, clock: VirtualClock) -> None:
        async def main() -> float:
            await otp.Task.yield_many([otp.Task.async_(nap, 1.5)], timeout=10.0)
            return clock.time()

        assert clock.run(main) == 1.5

    def test_a_task_without_an_outcome_can_still_be_awaited(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            task = otp.Task.async_(nap, 4.0)
            [(_, first)] = await otp.Task.yield_many([task], timeout=1.0)
            return (first, await otp.Task.await_(task)), clock.time()

        assert clock.run(main) == ((None, 4.0), 4.0)

    def test_an_empty_list_returns_an_empty_list_at_once(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float]:
            return list(await otp.Task.yield_many([])), clock.time()

        assert clock.run(main) == ([], 0.0)

    def test_a_task_given_twice_gets_its_outcome_twice(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            task = otp.Task.async_(nap, 1.0)
            return [outcome for _, outcome in await otp.Task.yield_many([task, task])]

        assert clock.run(main) == [("ok", 1.0), ("ok", 1.0)]

    def test_limit_returns_once_that_many_tasks_have_an_outcome(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float, bool]:
            late = otp.Task.async_(nap, 3.0)
            tasks = [late, otp.Task.async_(nap, 1.0), otp.Task.async_(nap, 2.0)]
            pairs = await otp.Task.yield_many(tasks, limit=2, on_timeout="kill_task")
            return [o for _, o in pairs], clock.time(), otp.is_alive(late.pid)

        # The limit is no timeout: on_timeout does not apply to the late task.
        assert clock.run(main) == ([None, ("ok", 1.0), ("ok", 2.0)], 2.0, True)

    def test_on_timeout_kill_task_kills_the_late_tasks(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], bool, list[object]]:
            late = otp.Task.async_(forever)
            tasks: list[otp.Task[Any]] = [late, otp.Task.async_(nap, 0.5)]
            pairs = await otp.Task.yield_many(tasks, timeout=1.0, on_timeout="kill_task")
            await wait_idle()
            return [o for _, o in pairs], otp.is_alive(late.pid), await drain()

        assert clock.run(main) == ([None, ("ok", 0.5)], False, [])

    def test_on_timeout_ignore_leaves_the_late_tasks_running_unlinked(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[list[object], bool, tuple[bool, bool], list[object]]:
            late = otp.Task.async_(nap, 2.0)
            pairs = await otp.Task.yield_many([late], timeout=1.0, on_timeout="ignore")
            alive = otp.is_alive(late.pid)
            links = linked_and_monitored(late)
            await asyncio.sleep(5.0)  # the late task finishes meanwhile
            return [o for _, o in pairs], alive, links, await drain()

        assert clock.run(main) == ([None], True, (False, False), [])

    def test_a_crashed_task_yields_its_exit_to_a_trapping_owner(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, object]:
            otp.trap_exit(True)
            [(_, outcome)] = await otp.Task.yield_many([otp.Task.async_(crash_after, 1)])
            assert outcome is not None
            return outcome

        kind, reason = clock.run(main)
        assert kind == "exit" and isinstance(reason, ValueError)

    def test_bad_options_say_what_to_pass(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(nap, 0.0)
            with pytest.raises(ValueError, match="limit must be a positive int"):
                await otp.Task.yield_many([task], limit=0)
            with pytest.raises(ValueError, match="on_timeout must be 'nothing'"):
                await otp.Task.yield_many([task], on_timeout="exit")  # type: ignore[arg-type]
            await task

        clock.run(main)


class TestIgnore:
    def test_a_running_task_keeps_running_unlinked_and_unmonitored(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, bool, tuple[bool, bool]]:
            task = otp.Task.async_(forever)
            return otp.Task.ignore(task), otp.is_alive(task.pid), linked_and_monitored(task)

        assert clock.run(main) == (None, True, (False, False))

    def test_a_later_result_never_reaches_the_mailbox(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            task = otp.Task.async_(nap, 1.0)
            otp.Task.ignore(task)
            await asyncio.sleep(2.0)
            return await drain()

        assert clock.run(main) == []

    def test_a_later_crash_does_not_reach_the_owner(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float]:
            task = otp.Task.async_(crash_after, 1.0)
            otp.Task.ignore(task)
            await asyncio.sleep(2.0)
            return await drain(), clock.time()

        assert clock.run(main) == ([], 2.0)

    def test_a_finished_task_gives_its_result_and_leaves_no_message(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, list[object]]:
            task = otp.Task.async_(nap, 0.0)
            await wait_idle()
            return otp.Task.ignore(task), await drain()

        assert clock.run(main) == (("ok", 0.0), [])

    def test_an_ignored_task_cannot_be_awaited(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(nap, 0.0)
            otp.Task.ignore(task)
            with pytest.raises(RuntimeError, match="shutdown or ignore"):
                await task

        clock.run(main)

    def test_a_task_of_another_process_cannot_be_ignored(self, clock: VirtualClock) -> None:
        async def main() -> None:
            theirs: asyncio.Future[otp.Task[Any]] = asyncio.get_running_loop().create_future()

            async def other() -> None:
                theirs.set_result(otp.Task.async_(forever))
                await otp.receive()

            otp.spawn(other)
            with pytest.raises(RuntimeError, match="Only the process that started a task"):
                otp.Task.ignore(await theirs)

        clock.run(main)
