"""How servers share the event loop: batches, slow callbacks, and inline calls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

import otp
from otp.testing import VirtualClock, wait_idle

T = TypeVar("T")


def run_on_node(
    clock: VirtualClock, main: Callable[[otp.Node], Coroutine[Any, Any, T]], **options: Any
) -> T:
    """Run `main(node)` as a process of `otp.Node(**options)` on the virtual clock."""

    async def outer() -> T:
        async with otp.Node(**options) as node:
            done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

            async def body() -> None:
                try:
                    done.set_result(await main(node))
                except Exception as exc:
                    done.set_exception(exc)

            otp.spawn(body)
            return await done

    with asyncio.Runner(loop_factory=clock.new_event_loop) as runner:
        return runner.run(outer())


class Logs(otp.GenServer):
    """Appends every request to the shared list `events` given to init."""

    def init(self, events: Any) -> Any:
        return events

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        state.append(("call", request))
        return otp.Reply(len(state), state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        state.append(("cast", request))
        return otp.NoReply(state)


async def _note(events: list[object], what: str) -> None:
    await otp.receive()
    events.append(what)


class TestFairness:
    @pytest.mark.parametrize("batch", [None, 8])
    def test_a_flooded_server_lets_other_processes_run_after_a_batch(
        self, clock: VirtualClock, batch: int | None
    ) -> None:
        events: list[object] = []

        async def main(node: otp.Node) -> int:
            server = await Logs.start_link(events)
            assert server is not None
            other = otp.spawn(_note, events, "other ran")
            await wait_idle()  # `other` waits in receive
            for i in range(5000):
                otp.cast(server, i)
            otp.send(other, "go")
            await otp.call(server, "sync", timeout=None)
            return node.batch

        options = {} if batch is None else {"batch": batch}
        used = run_on_node(clock, main, **options)
        assert used == (64 if batch is None else batch)
        # Without batches the other process would run after all 5000 casts.
        assert events.index("other ran") <= used
        assert events[-1] == ("call", "sync") and len(events) == 5002

    def test_batch_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="batch"):
            otp.Node(batch=0)


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class Spins(otp.GenServer):
    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        _spin(0.005)
        return otp.Reply("done", state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        _spin(0.005)
        return otp.NoReply(state)


def _slow_reports(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "otp" and "held the event loop" in r.message]


class TestSlowCallbacks:
    def test_a_callback_holding_the_loop_is_reported_with_process_and_message(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main(node: otp.Node) -> str:
            pid = await Spins.start_link(None, name="spinner")
            assert pid is not None
            otp.cast(pid, "spin")
            await otp.call(pid, "spin too")
            return str(pid)

        pid = run_on_node(clock, main, slow_callback=0.001)
        # Only the server's: a step of main may pass 1 ms on a busy machine.
        reports = [r for r in _slow_reports(caplog) if "Spins" in r.message]
        assert len(reports) == 2
        assert all(f"Spins {pid} ('spinner')" in r.message for r in reports)
        assert "cast 'spin'" in reports[0].message
        assert "call 'spin too'" in reports[1].message

    def test_an_inline_call_holding_the_loop_is_reported(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main(node: otp.Node) -> None:
            pid = await Spins.start_link(None)
            assert pid is not None
            await wait_idle()
            await otp.call(pid, "inline")

        run_on_node(clock, main, slow_callback=0.001)
        [report] = [r for r in _slow_reports(caplog) if "call 'inline'" in r.message]
        assert "Spins" in report.message

    def test_none_disables_the_report(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main(node: otp.Node) -> None:
            pid = await Spins.start_link(None)
            assert pid is not None
            otp.cast(pid, "spin")
            await otp.call(pid, "spin too")

        run_on_node(clock, main, slow_callback=None)
        assert _slow_reports(caplog) == []

    def test_the_default_threshold_is_a_tenth_of_a_second(self) -> None:
        assert otp.Node().slow_callback == 0.1


class Inline(otp.GenServer):
    """Shows what a handle_call sees and does when run inside the caller's step."""

    def init(self, arg: Any) -> Any:
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        match request:
            case "self":
                return otp.Reply(otp.self(), state)
            case "send_self":
                otp.send(otp.self(), "info 1")
                otp.cast(otp.self(), "cast 2")
                otp.send(otp.self(), "info 3")
                return otp.Reply(list(state), [*state, "call"])
            case "crash":
                raise ValueError("inline crash")
            case ("defer", helper):
                otp.send(helper, from_)
                return otp.NoReply(state)
            case "events":
                return otp.Reply(state, state)
        return otp.Reply(None, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        return otp.NoReply([*state, request])

    def handle_info(self, msg: Any, state: Any) -> Any:
        return otp.NoReply([*state, msg])

    def terminate(self, reason: Any, state: Any) -> None:
        watcher = otp.whereis("watcher")
        if watcher is not None:
            otp.send(watcher, ("terminate", reason))


async def _ready(events: list[object]) -> None:
    events.append("another process ran")


class TestInlineCalls:
    def test_a_call_to_an_idle_server_completes_within_the_callers_step(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            events: list[object] = []
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.spawn(_ready, events)  # ready to run, but only once we yield
            await otp.call(pid, "anything")
            events.append("call returned")
            await wait_idle()
            return events

        assert clock.run(main) == ["call returned", "another process ran"]

    def test_self_inside_handle_call_is_the_server(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            return await otp.call(pid, "self") is pid

        assert clock.run(main)

    def test_messages_the_server_sends_itself_are_handled_afterwards_in_order(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            during = await otp.call(pid, "send_self")
            return during, await otp.call(pid, "events")

        assert clock.run(main) == ([], ["call", "info 1", "cast 2", "info 3"])

    def test_a_crash_raises_exit_in_the_caller_runs_terminate_and_signals_links(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def linked(server: otp.Pid, parent: otp.Pid) -> None:
            otp.trap_exit(True)
            otp.link(server)
            otp.send(parent, "linked")
            otp.send(parent, await otp.receive())

        async def main() -> tuple[object, object, object]:
            otp.register("watcher", otp.self())
            pid = await Inline.start(None)
            assert pid is not None
            otp.spawn(linked, pid, otp.self())
            assert await otp.receive() == "linked"
            await wait_idle()
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "crash")
            reason = info.value.reason
            terminated = await otp.receive()
            exited = await otp.receive()
            assert isinstance(exited, otp.Exited) and exited.pid is pid
            return reason, terminated, exited.reason

        reason, terminated, exited = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "inline crash"
        assert terminated == ("terminate", reason)
        assert exited is reason
        assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1

    def test_a_linked_trapping_caller_gets_exit_and_the_exit_signal(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[object, object]:
            otp.trap_exit(True)
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "crash")
            exited = await otp.receive()
            assert isinstance(exited, otp.Exited) and exited.pid is pid
            return info.value.reason, exited.reason

        raised, signalled = clock.run(main)
        assert isinstance(raised, ValueError) and signalled is raised

    def test_noreply_then_a_later_reply(self, clock: VirtualClock) -> None:
        async def replies_later() -> None:
            from_ = await otp.receive()
            assert isinstance(from_, otp.From)
            await asyncio.sleep(1)
            otp.reply(from_, "later")

        async def main() -> tuple[object, float]:
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            answer = await otp.call(pid, ("defer", otp.spawn(replies_later)))
            return answer, clock.time()

        assert clock.run(main) == ("later", 1.0)

    def test_a_long_loop_of_calls_yields_to_the_loop_within_the_budget(
        self, clock: VirtualClock
    ) -> None:
        events: list[object] = []

        async def main(node: otp.Node) -> int:
            pid = await Inline.start_link(None)
            assert pid is not None
            await wait_idle()
            otp.spawn(_ready, events)
            for i in range(1000):
                await otp.call(pid, "anything")
                events.append(i)
            return node.inline_budget

        budget = run_on_node(clock, main)
        assert budget == 64
        # Without the budget, the other process would only run after call 999.
        assert events.index("another process ran") <= budget


#: Long enough above the threshold that no ordinary step comes near it.
THRESHOLD = 0.05
BLOCK = 0.15


def _reports_of(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [r.message for r in _slow_reports(caplog) if all(w in r.message for w in words)]


class BlocksInInit(otp.GenServer):
    def init(self, arg: Any) -> Any:
        _spin(BLOCK)
        return arg


class BlocksInAsyncCallbacks(otp.GenServer):
    async def init(self, arg: Any) -> Any:
        if arg == "init":
            _spin(BLOCK)
        return arg

    async def handle_cast(self, request: Any, state: Any) -> Any:
        _spin(BLOCK)
        return otp.NoReply(state)

    async def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        await asyncio.sleep(0)
        _spin(BLOCK)
        return otp.Reply("done", state)

    async def terminate(self, reason: Any, state: Any) -> None:
        if state == "terminate":
            _spin(BLOCK)


class TestBlockedLoopEverywhere:
    """Every step of every process that holds the loop is reported, once."""

    def test_a_sync_init_is_reported_and_not_also_its_starter(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            await BlocksInInit.start_link("arg")

        clock.run(main, slow_callback=THRESHOLD)
        assert len(_reports_of(caplog, "BlocksInInit", "init('arg')")) == 1
        assert _reports_of(caplog, "in one step of", "main") == []

    def test_an_inline_call_is_reported_by_the_server_not_also_by_its_caller(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BlocksInCall(otp.GenServer):
            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                _spin(BLOCK)
                return otp.Reply("done", state)

        async def main() -> None:
            pid = await BlocksInCall.start_link(None)
            assert pid is not None
            await wait_idle()
            await otp.call(pid, "inline")  # served in main's own step

        clock.run(main, slow_callback=THRESHOLD)
        assert len(_reports_of(caplog, "BlocksInCall", "call 'inline'")) == 1
        assert _reports_of(caplog, "in one step of", "main") == []

    def test_an_async_init_is_reported(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            await BlocksInAsyncCallbacks.start_link("init")

        clock.run(main, slow_callback=THRESHOLD)
        assert len(_reports_of(caplog, "BlocksInAsyncCallbacks", "init('init')")) == 1

    def test_async_callbacks_are_reported_with_their_message(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await BlocksInAsyncCallbacks.start_link(None)
            assert pid is not None
            otp.cast(pid, "spin")
            await otp.call(pid, "spin too")

        clock.run(main, slow_callback=THRESHOLD)
        assert len(_reports_of(caplog, "BlocksInAsyncCallbacks", "cast 'spin'")) == 1
        assert len(_reports_of(caplog, "BlocksInAsyncCallbacks", "call 'spin too'")) == 1

    def test_an_async_terminate_is_reported(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await BlocksInAsyncCallbacks.start_link("terminate")
            assert pid is not None
            await otp.stop(pid)

        clock.run(main, slow_callback=THRESHOLD)
        assert len(_reports_of(caplog, "BlocksInAsyncCallbacks", "terminate('normal')")) == 1

    def test_a_plain_process_is_reported_with_its_function(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def blocker() -> None:
            await asyncio.sleep(0)
            _spin(BLOCK)

        async def main() -> str:
            pid, ref = otp.spawn_monitor(blocker)
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return str(pid)

        pid = clock.run(main, slow_callback=THRESHOLD)
        [report] = _reports_of(caplog, "in one step of", "blocker")
        assert f"Process {pid}" in report

    def test_a_task_is_reported_with_the_function_it_runs(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        def crunch() -> int:
            _spin(BLOCK)
            return 42

        async def main() -> object:
            return await otp.Task.await_(otp.Task.async_(crunch))

        assert clock.run(main, slow_callback=THRESHOLD) == 42
        assert len(_reports_of(caplog, "in one step of", "crunch")) == 1

    def test_main_is_reported(self, clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> None:
            _spin(BLOCK)

        clock.run(main, slow_callback=THRESHOLD)
        assert (
            len(_reports_of(caplog, "in one step of", "test_main_is_reported.<locals>.main")) == 1
        )
