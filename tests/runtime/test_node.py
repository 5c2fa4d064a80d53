"""`otp.Node`: a node inside a plain asyncio program, and its shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


async def forever() -> None:
    await otp.receive(match=lambda m: False)


class Counter(otp.GenServer):
    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        return otp.Reply(state, state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int) and isinstance(request, int)
        return otp.NoReply(state + request)


class TestInsideAsyncio:
    def test_plain_tasks_can_call_cast_and_send(self) -> None:
        async def main() -> tuple[object, object]:
            async with otp.Node():
                await Counter.start(10, name="counter")
                otp.cast("counter", 5)
                total = await otp.call("counter", "get")

                inbox: asyncio.Queue[object] = asyncio.Queue()

                async def relay() -> None:
                    await inbox.put(await otp.receive())

                pid = otp.spawn(relay)
                otp.send(pid, "from a plain task")
                return total, await inbox.get()

        assert asyncio.run(main()) == (15, "from a plain task")

    def test_the_node_name_is_nonode_at_nohost(self) -> None:
        async def main() -> str:
            async with otp.Node():
                return otp.node()

        assert asyncio.run(main()) == "nonode@nohost"

    def test_a_second_node_on_the_same_loop_raises(self) -> None:
        async def main() -> None:
            async with otp.Node():
                with pytest.raises(RuntimeError, match="one node per loop"):
                    async with otp.Node():
                        pass

        asyncio.run(main())

    def test_a_new_node_may_start_after_the_first_one_left(self) -> None:
        async def main() -> list[str]:
            async with otp.Node():
                otp.register("a", otp.spawn(forever))
            async with otp.Node():
                return otp.registered()

        assert asyncio.run(main()) == []

    def test_without_a_node_runtime_functions_say_how_to_start_one(self) -> None:
        async def main() -> None:
            with pytest.raises(otp.NotInProcess, match=r"otp\.Node"):
                otp.spawn(forever)

        asyncio.run(main())

    def test_a_node_that_is_not_running_says_so(self) -> None:
        with pytest.raises(RuntimeError, match="not running"):
            _ = otp.Node().loop

    def test_batch_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            otp.Node(batch=0)

    def test_the_repr_counts_processes(self) -> None:
        async def main() -> str:
            async with otp.Node() as node:
                otp.spawn(forever)
                return repr(node)

        assert asyncio.run(main()) == "<Node 'nonode@nohost' 1 processes>"


class TestShutdown:
    def test_every_process_is_stopped_on_exit(self) -> None:
        async def main() -> list[otp.Pid]:
            async with otp.Node():
                return [otp.spawn(forever) for _ in range(3)]

        pids = asyncio.run(main())
        assert not any(otp.is_alive(pid) for pid in pids)

    def test_roots_stop_newest_first_each_after_the_previous_one_ended(
        self, clock: VirtualClock
    ) -> None:
        stopped: list[int] = []

        async def trapper(n: int) -> None:
            otp.trap_exit(True)
            exited = await otp.receive()
            assert isinstance(exited, otp.Exited) and exited.reason == "shutdown"
            await asyncio.sleep(1)  # cleanup that takes time
            stopped.append(n)

        async def main() -> None:
            async with otp.Node():
                for n in range(4):
                    otp.spawn(trapper, n)
                await wait_idle()

        with asyncio.Runner(loop_factory=clock.new_event_loop) as runner:
            runner.run(main())
        assert stopped == [3, 2, 1, 0]
        assert clock.time() == 4.0

    def test_a_linked_child_stops_with_its_root(self) -> None:
        async def parent(report: asyncio.Future[otp.Pid]) -> None:
            report.set_result(otp.spawn_link(forever))
            await forever()

        async def main() -> otp.Pid:
            async with otp.Node():
                report: asyncio.Future[otp.Pid] = asyncio.get_running_loop().create_future()
                otp.spawn(parent, report)
                return await report

        assert otp.is_alive(asyncio.run(main())) is False

    def test_a_process_that_ignores_shutdown_is_killed_after_the_timeout(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def stubborn() -> None:
            otp.trap_exit(True)
            await forever()

        async def main() -> otp.Pid:
            async with otp.Node(shutdown_timeout=2.0):
                pid = otp.spawn(stubborn)
                await wait_idle()
            return pid

        with asyncio.Runner(loop_factory=clock.new_event_loop) as runner:
            pid = runner.run(main())
        assert otp.is_alive(pid) is False
        assert clock.time() == 2.0
        [record] = [r for r in caplog.records if r.name == "otp"]
        assert record.levelno == logging.ERROR and "did not stop within" in record.getMessage()

    def test_cleanup_of_killed_processes_runs_before_the_node_exits(self) -> None:
        cleaned: list[str] = []

        async def worker() -> None:
            try:
                await forever()
            finally:
                cleaned.append("worker")

        async def main() -> list[str]:
            async with otp.Node():
                otp.spawn(worker)
                await wait_idle()
            return list(cleaned)

        assert asyncio.run(main()) == ["worker"]

    def test_shutdown_is_not_logged_as_a_crash(self, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> None:
            async with otp.Node():
                otp.spawn(forever)
                await Counter.start(0)

        asyncio.run(main())
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
