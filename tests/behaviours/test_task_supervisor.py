"""TaskSupervisor: supervised tasks, awaited or not."""

from __future__ import annotations

import asyncio
import importlib.util
import pathlib
from typing import cast

import pytest

import otp
from otp.testing import VirtualClock


async def double(x: int) -> int:
    return 2 * x


async def crash(message: str) -> None:
    raise ValueError(message)


async def crash_when_told() -> None:
    await otp.receive()
    raise ValueError("told to")


async def forever() -> None:
    await asyncio.Event().wait()


class TestStartChild:
    def test_a_started_task_runs_under_the_supervisor(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            pid = await otp.TaskSupervisor.start_child(sup, otp.send, otp.self(), "ran")
            return await otp.receive(), pid in await otp.TaskSupervisor.children(sup) or True

        assert clock.run(main) == ("ran", True)

    def test_a_crashed_task_is_not_restarted_by_default(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            pid = await otp.TaskSupervisor.start_child(sup, crash_when_told)
            ref = otp.monitor(pid)
            otp.send(pid, "crash now")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return type(down.reason).__name__, await otp.TaskSupervisor.children(sup)

        assert clock.run(main) == ("ValueError", [])

    def test_terminate_child_stops_a_running_task(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            pid = await otp.TaskSupervisor.start_child(sup, forever)
            ref = otp.monitor(pid)
            await otp.TaskSupervisor.terminate_child(sup, pid)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, await otp.TaskSupervisor.children(sup)

        assert clock.run(main) == ("shutdown", [])


class TestAsyncNolink:
    def test_the_result_is_awaited_like_a_task(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await otp.TaskSupervisor.start_link(name="tasks")
            task = await otp.TaskSupervisor.async_nolink("tasks", double, 21)
            return await task

        assert clock.run(main) == 42

    def test_a_crash_does_not_kill_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            task = await otp.TaskSupervisor.async_nolink(sup, crash, "boom")
            with pytest.raises(otp.Exit) as info:
                await task
            return type(info.value.reason).__name__, otp.is_alive(otp.self())

        assert clock.run(main) == ("ValueError", True)

    def test_the_owner_gets_the_down_message(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            task = await otp.TaskSupervisor.async_nolink(sup, crash, "boom")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down))
            assert isinstance(down, otp.Down)
            return down.ref == task.ref, down.pid is task.pid

        assert clock.run(main) == (True, True)


class TestAsync:
    def test_a_linked_task_crash_reaches_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            sup = await otp.TaskSupervisor.start_link()
            task = await otp.TaskSupervisor.async_(sup, crash, "boom")
            exited = await otp.receive(
                match=lambda m: isinstance(m, otp.Exited) and m.pid is task.pid
            )
            assert isinstance(exited, otp.Exited)
            return type(exited.reason).__name__

        assert clock.run(main) == "ValueError"

    def test_the_result_is_returned(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            return await (await otp.TaskSupervisor.async_(sup, double, 4))

        assert clock.run(main) == 8


def test_a_bad_function_is_refused_with_a_clear_error(clock: VirtualClock) -> None:
    async def main() -> str:
        sup = await otp.TaskSupervisor.start_link()
        with pytest.raises(TypeError, match="needs a function") as info:
            await otp.TaskSupervisor.async_nolink(sup, 42)  # type: ignore[arg-type]
        return str(info.value)

    assert "42" in clock.run(main)


def test_the_slow_server_example_answers_every_caller(clock: VirtualClock) -> None:
    path = pathlib.Path(__file__).parents[2] / "examples" / "slow_server.py"
    spec = importlib.util.spec_from_file_location("slow_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = clock.run(module.main)
    assert results[0] == ("ok", "sales rendered in 1 s")
    assert results[1][0] == "error" and "cannot render" in results[1][1]
    assert results[2] == ("ok", "stock rendered in 1 s")
    assert clock.time() == 1.0


class TestAsyncStream:
    def test_the_items_run_as_children_of_the_supervisor(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], bool]:
            sup = await otp.TaskSupervisor.start_link()
            seen: list[bool] = []

            async def child_of_sup(x: int) -> int:
                seen.append(otp.self() in await otp.TaskSupervisor.children(sup))
                return 2 * x

            stream = otp.TaskSupervisor.async_stream(sup, child_of_sup, [1, 2])
            results: list[object] = [r async for r in stream]
            return results, all(seen) and len(seen) == 2

        assert clock.run(main) == ([("ok", 2), ("ok", 4)], True)

    def test_a_crashing_item_takes_the_linked_caller_down(self, clock: VirtualClock) -> None:
        async def owner(sup: otp.Pid) -> None:
            async for _ in otp.TaskSupervisor.async_stream(sup, crash, ["bad"]):
                pass

        async def main() -> object:
            sup = await otp.TaskSupervisor.start_link()
            _, ref = otp.spawn_monitor(owner, sup)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason

        reason = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "bad"

    def test_options_are_those_of_task_async_stream(self, clock: VirtualClock) -> None:
        async def nap(seconds: float) -> float:
            await asyncio.sleep(seconds)
            return seconds

        async def main() -> tuple[list[object], float]:
            sup = await otp.TaskSupervisor.start_link()
            stream = otp.TaskSupervisor.async_stream(
                sup,
                nap,
                [3.0, 1.0, 9.0],
                ordered=False,
                timeout=5.0,
                on_timeout="kill_task",
                zip_input_on_exit=True,
                max_concurrency=3,
            )
            return [r async for r in stream], clock.time()

        assert clock.run(main) == ([("ok", 1.0), ("ok", 3.0), ("exit", (9.0, "timeout"))], 5.0)


class TestAsyncStreamNolink:
    def test_a_crashing_item_yields_its_exit_and_the_caller_goes_on(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[list[object], bool]:
            sup = await otp.TaskSupervisor.start_link()
            stream = otp.TaskSupervisor.async_stream_nolink(sup, crash, ["a", "b"])
            outcomes = [r async for r in stream]
            return [(kind, str(reason)) for kind, reason in outcomes], otp.is_alive(sup)

        # The caller does not trap exits: a linked crash would have killed it.
        assert clock.run(main) == ([("exit", "a"), ("exit", "b")], True)

    def test_zip_input_on_exit_names_the_failed_item(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            sup = await otp.TaskSupervisor.start_link()
            stream = otp.TaskSupervisor.async_stream_nolink(
                sup, crash, ["x"], zip_input_on_exit=True
            )
            return [(kind, cast(tuple[object, object], zipped)[0]) async for kind, zipped in stream]

        assert clock.run(main) == [("exit", "x")]

    def test_chunks_run_under_the_supervisor_too(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            sup = await otp.TaskSupervisor.start_link()
            stream = otp.TaskSupervisor.async_stream_nolink(sup, double, [1, 2, 3], chunk_size=2)
            return [r async for r in stream]

        assert clock.run(main) == [("ok", 2), ("ok", 4), ("ok", 6)]


class TestStop:
    def test_stop_ends_the_supervisor_and_its_tasks(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool]:
            otp.trap_exit(True)
            sup = await otp.TaskSupervisor.start_link()
            task = await otp.TaskSupervisor.start_child(sup, forever)
            await otp.TaskSupervisor.stop(sup)
            return otp.is_alive(sup), otp.is_alive(task)

        assert clock.run(main) == (False, False)
