"""A caller that finds a server's batch due runs it in its own step, its call last.

Which path served a call shows in the callbacks: run inside the caller's
step they see the caller's task as the current task; run by the server's
own `run` they see the node's placeholder task.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import Any

import pytest
from test_gen_server_scheduling import run_on_node

import otp
from otp.testing import VirtualClock, wait_idle

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="-")


class Records(otp.GenServer):
    """Appends `(kind, request, task, where)` to its state for every call and cast."""

    def init(self, arg: Any) -> Any:
        where.set("server")
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        if request == "events":
            return otp.Reply(state, state)
        state.append(("call", request, asyncio.current_task(), where.get(), otp.self()))
        return otp.Reply(len(state), state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        match request:
            case "crash":
                raise ValueError("crash in the batch")
            case ("kill", pid):
                otp.exit(pid, "kill")
            case "cancel the task":
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
            case "spin":
                _spin(BLOCK)
        state.append(("cast", request, asyncio.current_task(), where.get(), otp.self()))
        return otp.NoReply(state)


#: Long enough above the threshold that no ordinary step comes near it.
THRESHOLD = 0.05
BLOCK = 0.15


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _requests(events: list[Any]) -> list[tuple[str, object]]:
    return [(kind, request) for kind, request, *_ in events]


async def _ready(events: list[object]) -> None:
    events.append("another process ran")


class TestTheCallerRunsTheBatch:
    def test_casts_queued_before_the_call_run_first_in_the_callers_step(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> Any:
            others: list[object] = []
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.spawn(_ready, others)  # ready to run, but only once we yield
            otp.cast(pid, "a")
            otp.cast(pid, "b")
            assert await otp.call(pid, "c") == 3
            others.append("call returned")
            await wait_idle()
            return await otp.call(pid, "events"), others, asyncio.current_task()

        events, others, task = clock.run(main)
        assert _requests(events) == [("cast", "a"), ("cast", "b"), ("call", "c")]
        assert others == ["call returned", "another process ran"]
        assert all(e[2] is task for e in events)  # all in main's step

    def test_the_batch_runs_in_the_servers_context_as_the_server(self, clock: VirtualClock) -> None:
        async def main() -> Any:
            where.set("caller")
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.cast(pid, "a")
            await otp.call(pid, "b")
            return await otp.call(pid, "events"), pid, where.get()

        events, pid, seen_by_caller = clock.run(main)
        assert [(e[3], e[4]) for e in events] == [("server", pid), ("server", pid)]
        assert seen_by_caller == "caller"

    def test_another_callers_queued_request_is_answered_in_the_same_batch(
        self, clock: VirtualClock
    ) -> None:
        async def other(pid: otp.Pid, parent: otp.Pid) -> None:
            otp.send(parent, "calling")  # the call below is queued in this same step
            otp.send(parent, ("answer", await otp.call(pid, "from other")))

        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            await otp.sys.suspend(pid)  # so that the other caller's call queues
            otp.spawn(other, pid, otp.self())
            assert await otp.receive() == "calling"
            await otp.sys.resume(pid)
            assert await otp.call(pid, "from main") == 2
            answer = await otp.receive()
            return await otp.call(pid, "events"), answer, asyncio.current_task()

        events, answer, task = clock.run(main)
        assert _requests(events) == [("call", "from other"), ("call", "from main")]
        assert answer == ("answer", 1)
        assert events[1][2] is task

    def test_a_crash_in_the_batch_fails_the_call_with_the_servers_reason(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> Any:
            pid = await Records.start(None)
            assert pid is not None
            await wait_idle()
            otp.cast(pid, "crash")
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "after the crash")
            return info.value.reason, otp.is_alive(pid)

        reason, alive = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "crash in the batch"
        assert alive is False
        crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(crashes) == 1 and "cast 'crash'" in crashes[0].message

    def test_a_caller_killed_by_the_batch_dies_and_the_server_goes_on(
        self, clock: VirtualClock
    ) -> None:
        async def doomed(pid: otp.Pid) -> None:
            otp.cast(pid, ("kill", otp.self()))
            await otp.call(pid, "from the doomed caller")
            raise AssertionError("a killed caller must not go on with the reply")

        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            victim, ref = otp.spawn_monitor(doomed, pid)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            events = await otp.call(pid, "events")
            return down.reason, _requests(events), otp.is_alive(pid), victim

        reason, events, alive, victim = clock.run(main)
        assert reason == "killed"
        # As in Erlang, the server still handles the request of a dead caller.
        assert events == [
            ("cast", ("kill", victim)),
            ("call", "from the doomed caller"),
        ]
        assert alive

    def test_a_task_cancelled_by_the_batch_is_cancelled_at_its_next_await(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()

            async def plain_task() -> object:
                otp.cast(pid, "cancel the task")
                answer = await otp.call(pid, "from the task")
                await asyncio.sleep(0)
                return answer

            task = asyncio.ensure_future(plain_task())
            await asyncio.wait([task])
            events = await otp.call(pid, "events")
            return task.cancelled(), otp.is_alive(pid), _requests(events)

        cancelled, alive, events = clock.run(main)
        assert cancelled and alive
        assert events == [("cast", "cancel the task"), ("call", "from the task")]

    def test_a_server_calling_a_third_server_runs_that_servers_batch(
        self, clock: VirtualClock
    ) -> None:
        class Forwards(otp.GenServer):
            async def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                otp.cast(state, ("forwarded cast", request))
                answer = await otp.call(state, ("forwarded call", request))
                return otp.Reply((answer, asyncio.current_task()), state)

        async def main() -> Any:
            third = await Records.start_link(None)
            assert third is not None
            front = await Forwards.start_link(third)
            assert front is not None
            await wait_idle()
            answer = await otp.call(front, "hello")
            return answer, await otp.call(third, "events"), third

        (count, front_task), events, third = clock.run(main)
        assert count == 2
        assert _requests(events) == [
            ("cast", ("forwarded cast", "hello")),
            ("call", ("forwarded call", "hello")),
        ]
        # Run in the front server's task, as the third server.
        assert all(e[2] is front_task and e[4] is third for e in events)

    def test_a_spent_inline_budget_queues_the_call(self, clock: VirtualClock) -> None:
        async def main(node: otp.Node) -> Any:
            assert node.inline_budget == 64
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.cast(pid, "a")
            node.inline_left = 0
            await otp.call(pid, "b")
            return await otp.call(pid, "events"), asyncio.current_task()

        events, task = run_on_node(clock, main)
        assert _requests(events) == [("cast", "a"), ("call", "b")]
        assert all(e[2] is not task for e in events)  # run by the server, not by main

    def test_a_mailbox_of_a_whole_batch_queues_the_call(self, clock: VirtualClock) -> None:
        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            for i in range(3):
                otp.cast(pid, i)
            await otp.call(pid, "last")
            return await otp.call(pid, "events"), asyncio.current_task()

        events, task = clock.run(main, batch=3)
        assert _requests(events) == [("cast", 0), ("cast", 1), ("cast", 2), ("call", "last")]
        assert all(e[2] is not task for e in events)

    def test_a_suspended_server_does_not_run_its_batch_for_a_caller(
        self, clock: VirtualClock
    ) -> None:
        async def caller(pid: otp.Pid, parent: otp.Pid) -> None:
            otp.send(parent, ("answer", await otp.call(pid, "while suspended")))

        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            otp.cast(pid, "before")
            await otp.sys.suspend(pid)
            otp.cast(pid, "queued")
            otp.spawn(caller, pid, otp.self())
            await wait_idle()
            during = list(await otp.sys.get_state(pid))
            await otp.sys.resume(pid)
            answer = await otp.receive()
            return during, await otp.call(pid, "events"), answer

        during, events, answer = clock.run(main)
        assert _requests(during) == [("cast", "before")]
        assert _requests(events) == [
            ("cast", "before"),
            ("cast", "queued"),
            ("call", "while suspended"),
        ]
        assert answer == ("answer", 3)

    def test_slow_callbacks_of_the_batch_are_reported_by_the_server(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BlocksInCall(Records):
            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                _spin(BLOCK)
                return super().handle_call(request, from_, state)

        async def main() -> Any:
            pid = await BlocksInCall.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.cast(pid, "spin")
            await otp.call(pid, "spin too")
            return str(pid)

        pid = clock.run(main, slow_callback=THRESHOLD)
        reports = [r.message for r in caplog.records if "held the event loop" in r.message]
        assert len(reports) == 2
        assert "cast 'spin'" in reports[0] and "call 'spin too'" in reports[1]
        assert all(f"BlocksInCall {pid}" in r for r in reports)


class TestSuspendWithinABatch:
    def test_messages_after_a_suspend_in_the_same_batch_wait(self, clock: VirtualClock) -> None:
        async def late_cast(pid: otp.Pid) -> None:
            otp.cast(pid, "after the suspend")

        async def main() -> Any:
            pid = await Records.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.spawn(late_cast, pid)  # runs before the server's batch
            otp.cast(pid, "before the suspend")
            await otp.sys.suspend(pid)
            during = list(await otp.sys.get_state(pid))
            await otp.sys.resume(pid)
            return during, await otp.call(pid, "events")

        during, events = clock.run(main)
        assert _requests(during) == [("cast", "before the suspend")]
        assert _requests(events) == [
            ("cast", "before the suspend"),
            ("cast", "after the suspend"),
        ]
