"""eager: a coroutine stepped inside a callback, finished in a Task only if it suspends."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from otp._behaviours._eager import eager


async def _value(x: int) -> int:
    return x


async def _nested(x: int) -> int:
    return await _value(x) + await _value(1)


async def _after(fut: asyncio.Future[int], steps: list[str]) -> int:
    steps.append("before")
    got = await fut
    steps.append("after")
    return got * 2


class TestEager:
    def test_a_coroutine_that_never_suspends_gives_its_result_at_once(self) -> None:
        assert eager(_nested(41)) == 42

    def test_an_exception_before_any_suspension_is_raised_at_once(self) -> None:
        async def fails() -> None:
            raise ValueError("no")

        with pytest.raises(ValueError, match="no"):
            eager(fails())

    def test_a_coroutine_that_suspends_is_finished_by_the_one_returned(self) -> None:
        async def main() -> tuple[list[str], int]:
            fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            steps: list[str] = []
            rest = eager(_after(fut, steps))
            assert inspect.iscoroutine(rest)
            assert steps == ["before"]  # the first step ran inside eager
            task = asyncio.ensure_future(rest)
            await asyncio.sleep(0)
            fut.set_result(21)
            return steps, await task

        assert asyncio.run(main()) == (["before", "after"], 42)

    def test_cancelling_the_task_cancels_the_coroutine_where_it_waits(self) -> None:
        async def waits(steps: list[str]) -> None:
            try:
                await asyncio.get_running_loop().create_future()
            except asyncio.CancelledError:
                steps.append("cancelled")
                raise

        async def main() -> list[str]:
            steps: list[str] = []
            rest = eager(waits(steps))
            assert inspect.iscoroutine(rest)
            task = asyncio.ensure_future(rest)
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return steps

        assert asyncio.run(main()) == ["cancelled"]

    def test_a_bare_yield_passes_through_to_the_loop(self) -> None:
        async def yields() -> str:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return "done"

        async def main() -> str:
            rest = eager(yields())
            assert inspect.iscoroutine(rest)
            result: str = await rest
            return result

        assert asyncio.run(main()) == "done"

    def test_closing_the_unfinished_coroutine_closes_the_stepped_one(self) -> None:
        closed: list[bool] = []

        async def waits() -> None:
            try:
                await asyncio.get_running_loop().create_future()
            finally:
                closed.append(True)

        async def main() -> None:
            rest = eager(waits())
            assert inspect.iscoroutine(rest)
            rest.send(None)  # what its Task does first: replay the first yield
            rest.close()  # a Task's coroutine closed while it waits

        asyncio.run(main())
        assert closed == [True]
