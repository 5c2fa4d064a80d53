"""When `terminate` runs (OTP's rules), trapped exits, `code_change` and `format_status`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import otp
from otp._behaviours._server_messages import System
from otp._behaviours._server_process import ServerProcess
from otp.testing import VirtualClock, wait_idle


class Tells(otp.GenServer):
    """Reports `terminate` and every trapped exit to the process named "watcher"."""

    def init(self, trap: Any) -> Any:
        otp.trap_exit(bool(trap))
        return "state"

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        if request == "crash":
            raise RuntimeError("crash in handle_call")
        return otp.Reply(state, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "crash":
            raise RuntimeError("crash in handle_cast")
        if request == "exit":
            raise otp.Exit(("shutdown", "by raising Exit"))
        return otp.NoReply(state)

    def handle_info(self, msg: Any, state: Any) -> Any:
        otp.send("watcher", ("info", msg))
        return otp.NoReply(state)

    def terminate(self, reason: Any, state: Any) -> None:
        otp.send("watcher", ("terminate", reason, state))


async def _reason(pid: otp.Pid | None, ref: otp.Ref | None = None) -> object:
    """The exit reason of `pid`, through a monitor (`ref` if already monitored)."""
    assert pid is not None
    if ref is None:
        ref = otp.monitor(pid)
    down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down)
    return down.reason


async def _told() -> list[object]:
    """Every message the servers sent to the watcher so far."""
    await wait_idle()
    told = []
    while True:
        try:
            told.append(await otp.receive(timeout=0, match=lambda m: not isinstance(m, otp.Down)))
        except TimeoutError:
            return told


class TestTerminateRuns:
    def test_on_otp_stop(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            otp.register("watcher", otp.self())
            pid = await Tells.start(False)
            assert pid is not None
            await otp.stop(pid, "shutdown")
            return await _told()

        assert clock.run(main) == [("terminate", "shutdown", "state")]

    def test_on_a_callback_exception_with_the_exception_as_reason(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            pid = await Tells.start(False)
            assert pid is not None
            otp.cast(pid, "crash")
            return await _reason(pid), await _told()

        reason, told = clock.run(main)
        assert isinstance(reason, RuntimeError)
        assert told == [("terminate", reason, "state")]

    def test_on_raising_exit_with_its_reason(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            pid = await Tells.start(False)
            assert pid is not None
            otp.cast(pid, "exit")
            return await _reason(pid), await _told()

        reason = ("shutdown", "by raising Exit")
        assert clock.run(main) == (reason, [("terminate", reason, "state")])

    def test_on_an_exit_signal_from_the_parent_when_trapping(self, clock: VirtualClock) -> None:
        async def parent(watcher: otp.Pid) -> None:
            otp.send(watcher, await Tells.start_link(True))
            await otp.receive()

        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            boss = otp.spawn(parent, otp.self())
            server = await otp.receive()
            assert isinstance(server, otp.Pid)
            otp.exit(boss, "shutdown")
            return await _reason(server), await _told()

        assert clock.run(main) == ("shutdown", [("terminate", "shutdown", "state")])

    def test_when_the_parent_exits_normally_while_trapping(self, clock: VirtualClock) -> None:
        async def parent(watcher: otp.Pid) -> None:
            otp.send(watcher, await Tells.start_link(True))

        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            otp.spawn(parent, otp.self())
            server = await otp.receive()
            assert isinstance(server, otp.Pid)
            return await _reason(server), await _told()

        assert clock.run(main) == ("normal", [("terminate", "normal", "state")])


class TestNodeShutdown:
    def test_a_trapping_root_server_terminates_when_run_returns(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        terminated: list[object] = []

        class Root(otp.GenServer):
            def init(self, arg: Any) -> Any:
                otp.trap_exit(True)
                return arg

            def terminate(self, reason: Any, state: Any) -> None:
                terminated.append((reason, clock.time()))

        async def main() -> None:
            await Root.start(None)

        clock.run(main)
        assert terminated == [("shutdown", 0.0)]
        assert caplog.records == []

    def test_a_trapping_server_started_from_a_task_terminates_when_the_node_exits(
        self, clock: VirtualClock
    ) -> None:
        terminated: list[object] = []

        class FromTask(otp.GenServer):
            def init(self, arg: Any) -> Any:
                otp.trap_exit(True)
                return arg

            def terminate(self, reason: Any, state: Any) -> None:
                terminated.append(reason)

        async def main() -> None:
            async with otp.Node():
                await FromTask.start_link(None)

        with asyncio.Runner(loop_factory=clock.new_event_loop) as runner:
            runner.run(main())
        assert terminated == ["shutdown"]
        assert clock.time() == 0.0


class TestTerminateDoesNotRun:
    def test_on_an_exit_signal_when_not_trapping(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            pid = await Tells.start(False)
            assert pid is not None
            ref = otp.monitor(pid)
            otp.exit(pid, "shutdown")
            return await _reason(pid, ref), await _told()

        assert clock.run(main) == ("shutdown", [])

    def test_on_an_exit_signal_from_the_parent_when_not_trapping(self, clock: VirtualClock) -> None:
        async def parent(watcher: otp.Pid) -> None:
            otp.send(watcher, await Tells.start_link(False))
            await otp.receive()

        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            boss = otp.spawn(parent, otp.self())
            server = await otp.receive()
            assert isinstance(server, otp.Pid)
            ref = otp.monitor(server)
            otp.exit(boss, "shutdown")
            return await _reason(server, ref), await _told()

        assert clock.run(main) == ("shutdown", [])

    def test_on_kill_even_when_trapping(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, list[object]]:
            otp.register("watcher", otp.self())
            pid = await Tells.start(True)
            assert pid is not None
            ref = otp.monitor(pid)
            otp.exit(pid, "kill")
            return await _reason(pid, ref), await _told()

        assert clock.run(main) == ("killed", [])


class TestTrappedExits:
    def test_other_processes_exit_signals_arrive_as_exited_in_handle_info(
        self, clock: VirtualClock
    ) -> None:
        class LinksWorker(otp.GenServer):
            def init(self, arg: Any) -> Any:
                otp.trap_exit(True)
                return otp.spawn_link(otp.receive)

            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state)

            def handle_info(self, msg: Any, state: Any) -> Any:
                otp.send("watcher", msg)
                return otp.NoReply(state)

        async def main() -> tuple[bool, object, bool]:
            otp.register("watcher", otp.self())
            server = await LinksWorker.start_link(None)
            assert server is not None
            worker = await otp.call(server, "worker")
            assert isinstance(worker, otp.Pid)
            otp.exit(worker, "boom")
            msg = await otp.receive()
            assert isinstance(msg, otp.Exited)
            return msg.pid is worker, msg.reason, otp.is_alive(server)

        assert clock.run(main) == (True, "boom", True)

    def test_a_trapping_server_outlives_a_normal_exit_of_a_linked_process(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            otp.register("watcher", otp.self())
            server = await Tells.start(True)
            assert server is not None

            async def linked() -> None:
                otp.link(server)

            helper = otp.spawn(linked)
            told = await _told()
            await otp.stop(server)
            return [*told, helper]

        told = clock.run(main)
        assert told[0] == ("info", otp.Exited(told[1], "normal"))  # type: ignore[arg-type]


class TestTerminateFailures:
    def test_a_terminate_that_raises_makes_stop_raise_exit_with_that_reason(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BadTerminate(otp.GenServer):
            def terminate(self, reason: Any, state: Any) -> None:
                raise OSError("cannot flush")

        async def main() -> object:
            pid = await BadTerminate.start(None)
            assert pid is not None
            with pytest.raises(otp.Exit) as info:
                await otp.stop(pid)
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, OSError)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is not None
        assert errors[0].exc_info[1] is reason

    def test_an_async_terminate_that_raises_is_the_exit_reason(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BadAsyncTerminate(otp.GenServer):
            async def terminate(self, reason: Any, state: Any) -> None:
                await asyncio.sleep(1)
                raise OSError("cannot flush")

        async def main() -> tuple[object, float]:
            pid = await BadAsyncTerminate.start(None)
            assert pid is not None
            with pytest.raises(otp.Exit) as info:
                await otp.stop(pid)
            return info.value.reason, clock.time()

        reason, now = clock.run(main)
        assert isinstance(reason, OSError) and now == 1.0
        assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1

    def test_messages_wait_while_an_async_terminate_runs(self, clock: VirtualClock) -> None:
        class SlowTerminate(otp.GenServer):
            def handle_cast(self, request: Any, state: Any) -> Any:
                raise RuntimeError("crash")

            def handle_info(self, msg: Any, state: Any) -> Any:
                raise AssertionError("no message is handled after terminate started")

            async def terminate(self, reason: Any, state: Any) -> None:
                await asyncio.sleep(1)

        async def main() -> tuple[object, float]:
            pid = await SlowTerminate.start(None)
            assert pid is not None
            otp.cast(pid, "crash")
            otp.send(pid, "after the crash")
            reason = await _reason(pid)
            return type(reason), clock.time()

        assert clock.run(main) == (RuntimeError, 1.0)


class Versioned(otp.GenServer):
    def init(self, arg: Any) -> Any:
        return {"v": 1, "password": "hunter2"}

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        return otp.Reply(state, state)

    def code_change(self, old_vsn: Any, state: Any, extra: Any) -> Any:
        return {**state, "v": 2, "from": old_vsn, "extra": extra}

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        state = status["state"]
        assert isinstance(state, dict)
        return {**status, "state": {**state, "password": "***"}}


async def _system(pid: otp.Pid | None, kind: str, payload: object = None) -> object:
    assert isinstance(pid, ServerProcess)
    fut = asyncio.get_running_loop().create_future()
    pid.enqueue(System(kind, payload, fut))
    return await fut


class TestCodeChangeAndFormatStatus:
    def test_the_default_code_change_keeps_the_state(self) -> None:
        assert otp.GenServer().code_change("1", {"a": 1}, None) == {"a": 1}

    def test_code_change_transforms_the_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Versioned.start_link(None)
            assert pid is not None
            await _system(pid, "suspend")
            await _system(pid, "change_code", ("1.0", "extra"))
            await _system(pid, "resume")
            return await otp.call(pid, "state")

        assert clock.run(main) == {
            "v": 2,
            "password": "hunter2",
            "from": "1.0",
            "extra": "extra",
        }

    def test_the_default_format_status_shows_everything(self) -> None:
        status: dict[str, object] = {"state": 1, "message": "m", "reason": None}
        assert otp.GenServer().format_status(status) == status

    def test_format_status_shapes_the_status(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Versioned.start_link(None)
            return await _system(pid, "get_status")

        status = clock.run(main)
        assert isinstance(status, dict)
        assert status["state"] == {"v": 1, "password": "***"}

    def test_a_suspended_server_queues_calls_until_resumed(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, object]:
            pid = await Versioned.start_link(None)
            assert pid is not None
            await _system(pid, "suspend")
            info = otp.process_info(pid)
            assert info is not None
            with pytest.raises(otp.CallTimeout):
                await otp.call(pid, "state", timeout=1)
            await _system(pid, "resume")
            return str(info["status"]), await otp.call(pid, "state")

        status, state = clock.run(main)
        assert status == "suspended" and state == {"v": 1, "password": "hunter2"}

    def test_a_suspended_server_can_be_stopped(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await Versioned.start(None)
            assert pid is not None
            await _system(pid, "suspend")
            await otp.stop(pid)
            return otp.is_alive(pid)

        assert clock.run(main) is False


def test_a_stop_reply_arrives_after_an_async_terminate_has_run(clock: VirtualClock) -> None:
    """As in OTP, `Stop(reason, state, reply=...)` answers once terminate returned."""

    class Slow(otp.GenServer):
        def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
            return otp.Stop("normal", state, reply="bye")

        async def terminate(self, reason: object, state: object) -> None:
            await asyncio.sleep(5)

    async def main() -> tuple[object, float]:
        pid = await Slow.start_link(None)
        assert pid is not None
        reply = await otp.call(pid, "stop", timeout=None)
        return reply, clock.time()

    assert clock.run(main) == ("bye", 5.0)
