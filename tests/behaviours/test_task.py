"""`otp.Task`: async_, await_, yield_, shutdown, async_stream, start and start_link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest

import otp
from otp._behaviours._task import run_task
from otp._runtime._process import Process
from otp.testing import VirtualClock, wait_idle


async def double(x: int) -> int:
    return 2 * x


async def wait_for_go() -> object:
    return await otp.receive()


async def forever() -> None:
    await otp.receive(match=lambda _: False)


async def boom() -> None:
    raise ValueError("boom")


async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def drain() -> list[object]:
    """Every message queued for the calling process, taken out of the queue."""
    messages = []
    while True:
        try:
            messages.append(await otp.receive(timeout=0))
        except TimeoutError:
            return messages


class TestAsyncAndAwait:
    def test_await_returns_the_result_of_a_coroutine_function(self, clock: VirtualClock) -> None:
        async def main() -> int:
            return await otp.Task.await_(otp.Task.async_(double, 21))

        assert clock.run(main) == 42

    def test_a_plain_function_runs_as_a_task_too(self, clock: VirtualClock) -> None:
        async def main() -> int:
            return await otp.Task.async_(lambda a, b: a + b, 1, 2)

        assert clock.run(main) == 3

    def test_awaiting_the_task_object_is_await_with_the_default_timeout(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> float:
            with pytest.raises(TimeoutError):
                await otp.Task.async_(forever)
            return clock.time()

        assert clock.run(main) == 5.0

    def test_the_task_is_linked_to_and_monitored_by_its_owner(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool, bool]:
            task = otp.Task.async_(forever)
            info = otp.process_info(otp.self())
            assert info is not None
            links = info["links"]
            monitors = info["monitors"]
            assert isinstance(links, list) and isinstance(monitors, list)
            return task.pid in links, task.pid in monitors, task.owner is otp.self()

        assert clock.run(main) == (True, True, True)

    def test_await_past_the_timeout_raises_and_kills_the_task(self, clock: VirtualClock) -> None:
        async def main() -> tuple[float, bool, list[object]]:
            task = otp.Task.async_(forever)
            with pytest.raises(TimeoutError, match=r"did not finish within 2\.5 s"):
                await otp.Task.await_(task, timeout=2.5)
            alive = otp.is_alive(task.pid)
            await wait_idle()
            return clock.time(), alive, await drain()

        assert clock.run(main) == (2.5, False, [])

    def test_await_leaves_no_reply_or_down_message_behind(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, list[object]]:
            task = otp.Task.async_(double, 4)
            await wait_idle()  # the reply and the Down are queued by now
            value = await task
            return value, await drain()

        assert clock.run(main) == (8, [])

    def test_a_crashing_task_takes_its_linked_owner_down(self, clock: VirtualClock) -> None:
        async def owner() -> None:
            await otp.Task.async_(boom)

        async def main() -> object:
            _, ref = otp.spawn_monitor(owner)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason

        reason = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "boom"

    def test_an_owner_trapping_exits_gets_exit_from_await_and_the_exit_message(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, list[object], otp.Pid]:
            otp.trap_exit(True)
            task = otp.Task.async_(boom)
            with pytest.raises(otp.Exit) as info:
                await task
            await wait_idle()
            return info.value.reason, await drain(), task.pid

        reason, messages, pid = clock.run(main)
        assert isinstance(reason, ValueError)
        assert messages == [otp.Exited(pid, reason)]

    def test_an_owner_that_crashes_takes_its_tasks_down(self, clock: VirtualClock) -> None:
        async def owner(parent: otp.Pid) -> None:
            task = otp.Task.async_(forever)
            otp.send(parent, task.pid)
            await otp.receive()
            raise RuntimeError("owner failed")

        async def main() -> object:
            pid = otp.spawn(owner, otp.self())
            task_pid = await otp.receive()
            assert isinstance(task_pid, otp.Pid)
            ref = otp.monitor(task_pid)
            otp.send(pid, "fail")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason

        assert isinstance(clock.run(main), RuntimeError)

    def test_awaiting_twice_raises_a_clear_error(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(double, 1)
            await task
            with pytest.raises(RuntimeError, match="already taken"):
                await task

        clock.run(main)

    def test_awaiting_from_another_process_raises_a_clear_error(self, clock: VirtualClock) -> None:
        async def other(task: otp.Task[object], parent: otp.Pid) -> None:
            try:
                await task
            except RuntimeError as exc:
                otp.send(parent, str(exc))

        async def main() -> object:
            task = otp.Task.async_(forever)
            otp.spawn(other, task, otp.self())
            return await otp.receive()

        message = clock.run(main)
        assert isinstance(message, str) and "Only the process that started a task" in message

    def test_passing_a_coroutine_instead_of_a_function_is_a_type_error(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match=r"Task.async_\(work, arg\)"):
                otp.Task.async_(double(1))  # type: ignore[call-overload]

        otp.run(main)

    def test_a_task_started_outside_any_process_has_no_owner_and_no_link(self) -> None:
        async def main() -> tuple[int, object, list[otp.Pid]]:
            async with otp.Node():
                task = otp.Task.async_(double, 5)
                info = otp.process_info(task.pid)
                assert info is not None
                links = info["links"]
                assert isinstance(links, list)
                return await task, task.owner, links

        assert asyncio.run(main()) == (10, None, [])

    def test_a_gen_server_can_take_the_reply_and_down_in_handle_info(
        self, clock: VirtualClock
    ) -> None:
        class Fetcher(otp.GenServer):
            def init(self, parent: object) -> object:
                return {"parent": parent, "task": None}

            def handle_cast(self, request: object, state: object) -> Any:
                assert isinstance(state, dict)
                state["task"] = otp.Task.async_(double, request)
                return otp.NoReply(state)

            def handle_info(self, msg: object, state: object) -> Any:
                assert isinstance(state, dict)
                task = state["task"]
                match msg:
                    case (ref, value) if ref == task.ref:
                        otp.send(state["parent"], ("result", value))
                    case otp.Down(ref=ref, reason=reason) if ref == task.ref:
                        otp.send(state["parent"], ("down", reason))
                return otp.NoReply(state)

        async def main() -> list[object]:
            server = await Fetcher.start_link(otp.self())
            assert server is not None
            otp.cast(server, 21)
            return [await otp.receive(), await otp.receive()]

        assert clock.run(main) == [("result", 42), ("down", "normal")]


class TestYield:
    def test_yield_returns_none_while_running_then_the_result(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            task = otp.Task.async_(wait_for_go)
            first = await otp.Task.yield_(task, timeout=1.0)
            at = clock.time()
            otp.send(task.pid, "go")
            return [first, at, await otp.Task.yield_(task), otp.is_alive(task.pid)]

        assert clock.run(main) == [None, 1.0, ("ok", "go"), False]

    def test_yield_with_zero_timeout_does_not_wait(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float, bool]:
            task = otp.Task.async_(forever)
            return await otp.Task.yield_(task, timeout=0), clock.time(), otp.is_alive(task.pid)

        assert clock.run(main) == (None, 0.0, True)

    def test_yield_reports_the_exit_of_a_crashed_task_to_a_trapping_owner(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            return await otp.Task.yield_(otp.Task.async_(boom))

        outcome = clock.run(main)
        assert isinstance(outcome, tuple) and outcome[0] == "exit"
        assert isinstance(outcome[1], ValueError)

    def test_a_task_that_exits_without_a_result_yields_its_reason(
        self, clock: VirtualClock
    ) -> None:
        async def quits() -> None:
            raise otp.Exit("normal")

        async def main() -> object:
            return await otp.Task.yield_(otp.Task.async_(quits))

        assert clock.run(main) == ("exit", "normal")

    def test_a_result_arriving_after_yield_gave_up_is_returned_by_shutdown(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            task = otp.Task.async_(nap, 3)
            ref = otp.monitor(task.pid)
            first = await otp.Task.yield_(task, timeout=1)
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return first, await otp.Task.shutdown(task)

        assert clock.run(main) == (None, ("ok", 3))


class TestShutdown:
    def test_shutdown_returns_the_result_of_a_task_that_had_finished(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, list[object]]:
            task = otp.Task.async_(double, 2)
            ref = otp.monitor(task.pid)
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return await otp.Task.shutdown(task), await drain()

        assert clock.run(main) == (("ok", 4), [])

    def test_shutdown_stops_a_running_task_and_returns_none(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, bool, float, list[object]]:
            otp.trap_exit(True)  # would see an Exited message if the link were not removed
            task = otp.Task.async_(forever)
            outcome = await otp.Task.shutdown(task)
            alive = otp.is_alive(task.pid)
            await wait_idle()
            return outcome, alive, clock.time(), await drain()

        assert clock.run(main) == (None, False, 0.0, [])

    def test_brutal_kill_kills_at_once_and_returns_none(self, clock: VirtualClock) -> None:
        async def stubborn() -> None:
            otp.trap_exit(True)
            await forever()

        async def main() -> tuple[object, bool, float]:
            task = otp.Task.async_(stubborn)
            await wait_idle()
            outcome = await otp.Task.shutdown(task, "brutal_kill")
            return outcome, otp.is_alive(task.pid), clock.time()

        assert clock.run(main) == (None, False, 0.0)

    def test_a_task_ignoring_the_shutdown_signal_is_killed_after_the_timeout(
        self, clock: VirtualClock
    ) -> None:
        async def stubborn() -> None:
            otp.trap_exit(True)
            await forever()

        async def main() -> tuple[object, bool, float]:
            task = otp.Task.async_(stubborn)
            await wait_idle()
            outcome = await otp.Task.shutdown(task, timeout=2.0)
            return outcome, otp.is_alive(task.pid), clock.time()

        assert clock.run(main) == (("exit", "killed"), False, 2.0)

    def test_a_trapping_task_that_stops_on_the_signal_returns_none(
        self, clock: VirtualClock
    ) -> None:
        async def graceful() -> None:
            otp.trap_exit(True)
            msg = await otp.receive()
            assert isinstance(msg, otp.Exited)
            raise otp.Exit(msg.reason)

        async def main() -> object:
            task = otp.Task.async_(graceful)
            await wait_idle()
            return await otp.Task.shutdown(task)

        assert clock.run(main) is None

    def test_shutdown_reports_a_task_that_had_crashed(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            task = otp.Task.async_(boom)
            await wait_idle()
            return await otp.Task.shutdown(task)

        outcome = clock.run(main)
        assert isinstance(outcome, tuple) and outcome[0] == "exit"
        assert isinstance(outcome[1], ValueError)

    def test_shutdown_rejects_a_bad_timeout(self, clock: VirtualClock) -> None:
        async def main() -> None:
            task = otp.Task.async_(forever)
            with pytest.raises(ValueError, match="brutal_kill"):
                await otp.Task.shutdown(task, "now")  # type: ignore[arg-type]

        clock.run(main)


class TestAsyncStream:
    def test_ordered_results_come_in_input_order(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], float]:
            stream = otp.Task.async_stream(nap, [3, 1, 2], max_concurrency=3)
            return [r async for r in stream], clock.time()

        assert clock.run(main) == ([("ok", 3), ("ok", 1), ("ok", 2)], 3.0)

    def test_unordered_results_come_as_tasks_finish(self, clock: VirtualClock) -> None:
        async def main() -> list[tuple[object, float]]:
            stream = otp.Task.async_stream(nap, [3, 1, 2], max_concurrency=3, ordered=False)
            return [(r, clock.time()) async for r in stream]

        assert clock.run(main) == [(("ok", 1), 1.0), (("ok", 2), 2.0), (("ok", 3), 3.0)]

    def test_no_more_than_max_concurrency_tasks_run_at_once(self, clock: VirtualClock) -> None:
        live = {"now": 0, "max": 0}

        async def work(seconds: float) -> float:
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
            await asyncio.sleep(seconds)
            live["now"] -= 1
            return seconds

        async def main() -> tuple[list[object], float]:
            items = [1, 1, 1, 1, 1, 1]
            stream = otp.Task.async_stream(work, items, max_concurrency=2, ordered=False)
            return [r async for r in stream], clock.time()

        results, elapsed = clock.run(main)
        assert results == [("ok", 1)] * 6
        assert live["max"] == 2
        assert elapsed == 3.0

    def test_a_slow_first_item_does_not_hold_the_others_back(self, clock: VirtualClock) -> None:
        # Ordered output waits for item 0, but finished items free their slots.
        async def main() -> tuple[list[object], float]:
            stream = otp.Task.async_stream(nap, [4, 1, 1, 1, 1], max_concurrency=2)
            return [r async for r in stream], clock.time()

        assert clock.run(main) == ([("ok", 4)] + [("ok", 1)] * 4, 4.0)

    def test_kill_task_turns_a_late_item_into_an_exit_timeout(self, clock: VirtualClock) -> None:
        pids: dict[float, otp.Pid] = {}

        async def work(seconds: float) -> float:
            pids[seconds] = otp.self()
            return await nap(seconds)

        async def main() -> tuple[list[object], float, bool]:
            stream = otp.Task.async_stream(
                work, [1, 10, 2], timeout=5, on_timeout="kill_task", max_concurrency=3
            )
            results: list[object] = [r async for r in stream]
            return results, clock.time(), otp.is_alive(pids[10])

        results, elapsed, alive = clock.run(main)
        assert results == [("ok", 1), ("exit", "timeout"), ("ok", 2)]
        assert elapsed == 5.0
        assert not alive

    def test_each_item_gets_its_own_timeout_from_its_start(self, clock: VirtualClock) -> None:
        async def main() -> list[tuple[object, float]]:
            stream = otp.Task.async_stream(
                nap, [3, 3, 9], timeout=4, on_timeout="kill_task", max_concurrency=1
            )
            return [(r, clock.time()) async for r in stream]

        assert clock.run(main) == [
            (("ok", 3), 3.0),
            (("ok", 3), 6.0),
            (("exit", "timeout"), 10.0),
        ]

    def test_on_timeout_exit_raises_and_kills_every_task(self, clock: VirtualClock) -> None:
        pids: list[otp.Pid] = []

        async def work(seconds: float) -> float:
            pids.append(otp.self())
            return await nap(seconds)

        async def main() -> tuple[list[object], float, list[bool]]:
            got: list[object] = []
            with pytest.raises(TimeoutError, match="item #1"):
                async for r in otp.Task.async_stream(
                    work, [1, 10, 20], timeout=5, max_concurrency=3
                ):
                    got.append(r)
            return got, clock.time(), [otp.is_alive(p) for p in pids]

        assert clock.run(main) == ([("ok", 1)], 5.0, [False, False, False])

    def test_a_crashing_item_yields_its_exit_to_a_trapping_caller(
        self, clock: VirtualClock
    ) -> None:
        async def check(x: int) -> int:
            if x == 2:
                raise ValueError(x)
            return x

        async def main() -> list[object]:
            otp.trap_exit(True)
            return [r async for r in otp.Task.async_stream(check, [1, 2, 3])]

        results = clock.run(main)
        assert results[0] == ("ok", 1) and results[2] == ("ok", 3)
        assert isinstance(results[1], tuple) and results[1][0] == "exit"
        assert isinstance(results[1][1], ValueError)

    def test_items_may_come_from_an_async_iterable(self, clock: VirtualClock) -> None:
        async def numbers() -> AsyncIterator[int]:
            for n in range(3):
                yield n

        async def main() -> list[object]:
            return [r async for r in otp.Task.async_stream(double, numbers())]

        assert clock.run(main) == [("ok", 0), ("ok", 2), ("ok", 4)]

    def test_input_is_read_only_as_results_are_asked_for(self, clock: VirtualClock) -> None:
        read: list[int] = []

        def items() -> Iterator[int]:
            for n in range(10):
                read.append(n)
                yield n

        async def main() -> list[int]:
            stream = otp.Task.async_stream(double, items(), max_concurrency=2)
            await anext(stream)
            await stream.aclose()
            return read

        assert clock.run(main) == [0, 1]

    def test_leaving_an_async_with_block_kills_the_running_tasks(self, clock: VirtualClock) -> None:
        pids: list[otp.Pid] = []

        async def work(seconds: float) -> float:
            pids.append(otp.self())
            return await nap(seconds)

        async def main() -> tuple[object, list[bool]]:
            async with otp.Task.async_stream(
                work, [1, 5, 5], ordered=False, max_concurrency=3
            ) as results:
                first = await anext(results)
            return first, [otp.is_alive(p) for p in pids]

        assert clock.run(main) == (("ok", 1), [False, False, False])

    def test_bad_options_are_rejected_at_once(self) -> None:
        with pytest.raises(ValueError, match="max_concurrency"):
            otp.Task.async_stream(double, [1], max_concurrency=0)
        with pytest.raises(ValueError, match="on_timeout"):
            otp.Task.async_stream(double, [1], on_timeout="ignore")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="iterable"):
            otp.Task.async_stream(double, 5)  # type: ignore[call-overload]


class TestAsyncStreamChunks:
    def test_a_chunk_runs_its_items_in_one_task_in_order(self, clock: VirtualClock) -> None:
        pids: list[otp.Pid] = []

        async def work(seconds: float) -> float:
            pids.append(otp.self())
            return await nap(seconds)

        async def main() -> tuple[list[object], float]:
            stream = otp.Task.async_stream(
                work, [1, 2, 3, 4, 5], chunk_size=2, timeout=None, max_concurrency=3
            )
            return [r async for r in stream], clock.time()

        results, elapsed = clock.run(main)
        assert results == [("ok", 1), ("ok", 2), ("ok", 3), ("ok", 4), ("ok", 5)]
        # Three chunks run side by side; each runs its items one after the other.
        assert elapsed == 7.0 and len(set(pids)) == 3

    def test_a_crashing_item_yields_its_exit_to_a_trapping_caller(self) -> None:
        def check(x: int) -> int:
            if x == 2:
                raise ValueError(x)
            return x

        async def main() -> list[object]:
            otp.trap_exit(True)
            stream = otp.Task.async_stream(check, [1, 2, 3], chunk_size=3)
            return [r async for r in stream]

        first, crashed, last = otp.run(main)
        assert first == ("ok", 1) and last == ("ok", 3)
        assert isinstance(crashed, tuple) and isinstance(crashed[1], ValueError)

    def test_a_crashing_item_takes_a_caller_that_does_not_trap_down(self) -> None:
        def check(x: int) -> int:
            raise ValueError(x)

        async def caller() -> None:
            async for _ in otp.Task.async_stream(check, [1, 2], chunk_size=2):
                pass

        async def main() -> object:
            _, ref = otp.spawn_monitor(caller)
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        reason = otp.run(main)
        assert isinstance(reason, ValueError) and reason.args == (1,)

    def test_a_late_chunk_gives_timeout_for_each_of_its_items(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            stream = otp.Task.async_stream(
                nap, [1, 9, 1], chunk_size=2, timeout=5, on_timeout="kill_task"
            )
            return [r async for r in stream]

        assert clock.run(main) == [("exit", "timeout"), ("exit", "timeout"), ("ok", 1)]


class TestAsyncStreamZipInputOnExit:
    def test_an_exit_names_its_item_and_ok_outcomes_stay_as_they_are(
        self, clock: VirtualClock
    ) -> None:
        def invert(x: int) -> float:
            return 1 / x

        async def main() -> list[Any]:
            otp.trap_exit(True)
            stream = otp.Task.async_stream(invert, [2, 0, 4], zip_input_on_exit=True)
            return [r async for r in stream]

        first, (kind, (item, reason)), last = clock.run(main)
        assert (first, last) == (("ok", 0.5), ("ok", 0.25))
        assert (kind, item) == ("exit", 0) and isinstance(reason, ZeroDivisionError)

    def test_a_killed_late_item_is_zipped_with_timeout(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            stream = otp.Task.async_stream(
                nap, [1.0, 9.0], timeout=2.0, on_timeout="kill_task", zip_input_on_exit=True
            )
            return [r async for r in stream]

        assert clock.run(main) == [("ok", 1.0), ("exit", (9.0, "timeout"))]

    def test_without_it_the_exit_reason_stands_alone(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            stream = otp.Task.async_stream(nap, [9.0], timeout=2.0, on_timeout="kill_task")
            return [r async for r in stream]

        assert clock.run(main) == [("exit", "timeout")]

    def test_each_item_of_a_chunk_is_zipped_with_its_own_input(self, clock: VirtualClock) -> None:
        def invert(x: int) -> float:
            return 1 / x

        async def main() -> list[object]:
            otp.trap_exit(True)
            stream = otp.Task.async_stream(invert, [1, 0], chunk_size=2, zip_input_on_exit=True)
            return [r[0] if r[0] == "ok" else (r[0], cast(Any, r[1])[0]) async for r in stream]

        assert clock.run(main) == ["ok", ("exit", 0)]


class TestStart:
    def test_start_runs_a_function_in_an_unlinked_process(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, list[object]]:
            pid = await otp.Task.start(otp.send, otp.self(), "ran")
            message = await otp.receive()
            info = otp.process_info(otp.self())
            assert info is not None
            links = info["links"]
            assert isinstance(links, list)
            return message, [p for p in links if p is pid]

        assert clock.run(main) == ("ran", [])

    def test_start_link_links_the_task_to_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            pid = await otp.Task.start_link(boom)
            msg = await otp.receive(match=lambda m: isinstance(m, otp.Exited) and m.pid is pid)
            assert isinstance(msg, otp.Exited)
            return msg.reason

        assert isinstance(clock.run(main), ValueError)


class TestAttach:
    """The hook a TaskSupervisor uses: a task started elsewhere, attached to by its owner."""

    def test_a_task_started_elsewhere_waits_for_its_owner_then_replies(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[int, list[object]]:
            owner = otp.self()
            assert isinstance(owner, Process)
            task: otp.Task[int] = otp.Task(owner, asyncio.get_running_loop())
            pid = await otp.Task.start(run_task, task, double, (4,))
            await wait_idle()  # the task has run up to its wait for the owner
            assert isinstance(pid, Process)
            task.attach(pid, monitored=True, linked=False)
            return await task, await drain()

        assert clock.run(main) == (8, [])

    def test_a_task_whose_owner_exits_before_attaching_ends_without_running(
        self, clock: VirtualClock
    ) -> None:
        ran: list[bool] = []

        async def work() -> None:
            ran.append(True)

        async def owner(parent: otp.Pid) -> None:
            me = otp.self()
            assert isinstance(me, Process)
            task: otp.Task[None] = otp.Task(me, asyncio.get_running_loop())
            otp.send(parent, await otp.Task.start(run_task, task, work, ()))
            await otp.receive()  # exit once the parent monitors the task

        async def main() -> tuple[object, list[bool]]:
            owner_pid = otp.spawn(owner, otp.self())
            pid = await otp.receive()
            assert isinstance(pid, otp.Pid)
            ref = otp.monitor(pid)
            otp.send(owner_pid, "exit now")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, ran

        assert clock.run(main) == ("normal", [])
