"""The client side: `call`, `cast`, `reply`, `stop` and every error they raise."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import otp
from otp._behaviours._server_process import ServerProcess
from otp.testing import VirtualClock, wait_idle


class Server(otp.GenServer):
    """Requests say what to do; the state is the list of requests seen."""

    def init(self, arg: Any) -> Any:
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        state = [*state, request]
        match request:
            case "crash":
                raise RuntimeError("crash while handling a call")
            case "hold":  # never answered here
                return otp.NoReply(state)
            case ("hand_to", pid):
                otp.send(pid, from_)
                return otp.NoReply(state)
            case ("call_self",):
                otp.spawn(_call_and_report, otp.self())
                return otp.Reply("ok", state)
        return otp.Reply(state, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "crash":
            raise RuntimeError("crash while handling a cast")
        return otp.NoReply([*state, request])


class AsyncServer(otp.GenServer):
    async def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        if request == "self":
            return otp.Reply(await otp.call(otp.self(), "anything"), state)
        await asyncio.sleep(10)
        return otp.Reply("slow", state)


async def _call_and_report(server: otp.Pid) -> None:
    otp.send(server, await otp.call(server, "x"))


class TestCallErrors:
    def test_no_reply_in_time_raises_call_timeout_at_the_timeout(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float, bool]:
            pid = await Server.start_link(None)
            assert pid is not None
            with pytest.raises(otp.CallTimeout) as info:
                await otp.call(pid, "hold", timeout=2.5)
            err = info.value
            return err.reason, clock.time(), isinstance(err, TimeoutError | otp.Exit)

        assert clock.run(main) == ("timeout", 2.5, True)

    def test_the_default_timeout_is_five_seconds(self, clock: VirtualClock) -> None:
        async def main() -> float:
            pid = await Server.start_link(None)
            assert pid is not None
            with pytest.raises(TimeoutError):
                await otp.call(pid, "hold")
            return clock.time()

        assert clock.run(main) == 5.0

    def test_timeout_none_waits_forever(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            pid = await Server.start_link(None)
            assert pid is not None
            helper = otp.spawn(_reply_after, 3600.0)
            return await otp.call(pid, ("hand_to", helper), timeout=None), clock.time()

        assert clock.run(main) == ("late answer", 3600.0)

    def test_a_dead_pid_raises_no_proc(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Server.start(None)
            assert pid is not None
            await otp.stop(pid)
            with pytest.raises(otp.NoProc) as info:
                await otp.call(pid, "x")
            return info.value.reason

        assert clock.run(main) == "noproc"

    def test_an_unknown_name_raises_no_proc_naming_it(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc, match="'nobody'"):
                await otp.call("nobody", "x")

        clock.run(main)

    def test_a_crash_during_the_call_raises_exit_with_the_exception(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            pid = await Server.start(None)
            assert pid is not None
            otp.cast(pid, "queued")  # the call goes through the mailbox
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "crash")
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, RuntimeError)

    def test_a_server_killed_during_an_async_call_raises_exit_at_once(
        self, clock: VirtualClock
    ) -> None:
        async def killer(pid: otp.Pid) -> None:
            await asyncio.sleep(1)
            otp.exit(pid, "kill")

        async def main() -> tuple[object, float]:
            pid = await AsyncServer.start(None)
            assert pid is not None
            otp.spawn(killer, pid)
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "slow", timeout=None)
            return info.value.reason, clock.time()

        assert clock.run(main) == ("killed", 1.0)

    def test_a_deferred_call_fails_when_the_server_dies(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            pid = await Server.start(None)
            assert pid is not None

            async def stopper() -> None:
                await asyncio.sleep(2)
                await otp.stop(pid, "shutdown")

            otp.spawn(stopper)
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "hold", timeout=None)
            return info.value.reason, clock.time()

        assert clock.run(main) == ("shutdown", 2.0)

    def test_calls_queued_behind_a_crash_fail_with_its_reason(self, clock: VirtualClock) -> None:
        class CrashesLater(otp.GenServer):
            async def handle_cast(self, request: Any, state: Any) -> Any:
                await asyncio.sleep(1)
                raise RuntimeError("crash")

        async def queued_call(pid: otp.Pid, parent: otp.Pid) -> None:
            try:
                await otp.call(pid, "after the crash")
            except otp.Exit as exc:
                otp.send(parent, ("failed", exc.reason))

        async def main() -> object:
            pid = await CrashesLater.start(None)
            assert pid is not None
            otp.cast(pid, "crash")
            await wait_idle()  # the server is in its cast: the call queues
            otp.spawn(queued_call, pid, otp.self())
            failed = await otp.receive()
            assert isinstance(failed, tuple)
            return failed[1]

        assert isinstance(clock.run(main), RuntimeError)

    def test_every_call_error_is_an_exit_carrying_a_reason(self) -> None:
        for error in (otp.NoProc(), otp.CallTimeout(), otp.NoConnection(), otp.Exit("r")):
            assert isinstance(error, otp.Exit)
            assert error.reason in ("noproc", "timeout", "noconnection", "r")

    def test_a_late_reply_never_reaches_the_callers_mailbox(self, clock: VirtualClock) -> None:
        class RepliesLate(otp.GenServer):
            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                otp.send_after(otp.self(), ("reply_now", from_), 2.0)
                return otp.NoReply(state)

            def handle_info(self, msg: Any, state: Any) -> Any:
                _, from_ = msg
                otp.reply(from_, "too late")
                otp.send(from_.caller, ("replied at", asyncio.get_running_loop().time()))
                return otp.NoReply(state)

        async def main() -> tuple[float, object, object]:
            pid = await RepliesLate.start_link(None)
            assert pid is not None
            with pytest.raises(otp.CallTimeout):
                await otp.call(pid, "question", timeout=1)
            timed_out = clock.time()
            replied = await otp.receive()  # the server has replied by now
            info = otp.process_info(otp.self())
            assert info is not None
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)
            return timed_out, replied, info["message_queue_len"]

        assert clock.run(main) == (1.0, ("replied at", 2.0), 0)

    def test_a_reply_after_the_caller_gave_up_is_ignored_by_any_replier(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            pid = await Server.start_link(None)
            assert pid is not None
            me = otp.self()
            with pytest.raises(otp.CallTimeout):
                await otp.call(pid, ("hand_to", me), timeout=1)
            from_ = await otp.receive()
            assert isinstance(from_, otp.From)
            otp.reply(from_, "too late")
            otp.reply(from_, "twice")
            await wait_idle()
            info = otp.process_info(me)
            assert info is not None
            return info["message_queue_len"], len(await otp.call(pid, "state"))

        # The server is still fine and saw the request once.
        assert clock.run(main) == (0, 2)

    def test_calling_yourself_fails_at_once_explaining_the_deadlock(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[object, float]:
            pid = await AsyncServer.start(None)
            assert pid is not None
            ref = otp.monitor(pid)
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "self")
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return info.value.reason, clock.time()

        assert clock.run(main) == ("calling_self", 0.0)
        [report] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert report.exc_info is not None and "deadlock" in str(report.exc_info[1])

    def test_a_plain_process_calling_itself_fails_at_once(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(otp.Exit, match="deadlock"):
                await otp.call(otp.self(), "x")
            return "ok"

        assert clock.run(main) == "ok"


async def _reply_after(seconds: float) -> None:
    from_ = await otp.receive()
    assert isinstance(from_, otp.From)
    await asyncio.sleep(seconds)
    otp.reply(from_, "late answer")


class TestCallFromTasks:
    def test_a_plain_asyncio_task_can_call_and_cast(self) -> None:
        async def main() -> object:
            async with otp.Node():
                pid = await Server.start(None)
                assert pid is not None
                otp.cast(pid, "cast from a task")
                results = await asyncio.gather(
                    *(asyncio.ensure_future(otp.call(pid, ("n", i))) for i in range(3))
                )
                return results[-1]

        assert asyncio.run(main()) == ["cast from a task", ("n", 0), ("n", 1), ("n", 2)]

    def test_a_task_call_to_a_dead_server_raises_no_proc(self) -> None:
        async def main() -> None:
            async with otp.Node():
                pid = await Server.start(None)
                assert pid is not None
                await otp.stop(pid)
                with pytest.raises(otp.NoProc):
                    await otp.call(pid, "x")

        asyncio.run(main())

    def test_a_call_to_a_plain_process_that_answers_gen_call(self, clock: VirtualClock) -> None:
        async def answers() -> None:
            msg = await otp.receive()
            assert isinstance(msg, tuple) and msg[0] == "$gen_call"
            _, from_, request = msg
            otp.reply(from_, ("answered", request))

        async def main() -> object:
            return await otp.call(otp.spawn(answers), "q")

        assert clock.run(main) == ("answered", "q")

    def test_a_call_to_a_plain_process_that_exits_raises_exit(self, clock: VirtualClock) -> None:
        async def exits() -> None:
            await otp.receive()
            raise otp.Exit("gone")

        async def main() -> object:
            with pytest.raises(otp.Exit) as info:
                await otp.call(otp.spawn(exits), "q")
            return info.value.reason

        assert clock.run(main) == "gone"


class TestOrdering:
    def test_requests_from_one_caller_arrive_in_order(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Server.start_link(None)
            assert pid is not None
            for i in range(5):
                otp.cast(pid, ("cast", i))
                if i % 2:
                    await otp.call(pid, ("call", i))
            otp.send(pid, "info is not recorded")
            otp.cast(pid, ("cast", "last"))
            return await otp.call(pid, "state")

        assert clock.run(main) == [
            ("cast", 0),
            ("cast", 1),
            ("call", 1),
            ("cast", 2),
            ("cast", 3),
            ("call", 3),
            ("cast", 4),
            ("cast", "last"),
            "state",
        ]


class TestCast:
    def test_cast_never_raises(self, clock: VirtualClock) -> None:
        async def main() -> str:
            pid = await Server.start(None)
            assert pid is not None
            await otp.stop(pid)
            otp.cast(pid, "to a dead pid")
            otp.cast("nobody", "to an unknown name")
            otp.cast(None, "to None")  # type: ignore[arg-type]
            otp.cast(("name", "other@node"), "to another node")
            return "ok"

        assert clock.run(main) == "ok"

    def test_cast_without_a_node_raises_not_in_process_instead_of_dropping_it(self) -> None:
        with pytest.raises(otp.NotInProcess, match=r"otp\.cast was called with no otp node"):
            otp.cast("nobody", "no node at all")

    def test_an_unhandled_cast_crashes_the_server_with_a_clear_message(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class NoCasts(otp.GenServer):
            pass

        async def main() -> object:
            pid = await NoCasts.start(None)
            assert pid is not None
            ref = otp.monitor(pid)
            otp.cast(pid, "hello")
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        reason = clock.run(main)
        assert isinstance(reason, NotImplementedError)
        assert "NoCasts received a cast it does not handle: 'hello'" in str(reason)
        assert "handle_cast" in str(reason)


class TestDefaults:
    def test_an_unhandled_call_crashes_the_server_with_a_clear_message(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class NoCalls(otp.GenServer):
            pass

        async def main() -> object:
            pid = await NoCalls.start(None)
            assert pid is not None
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "hello")
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, NotImplementedError)
        assert "NoCalls received a call it does not handle: 'hello'" in str(reason)

    def test_an_unexpected_info_message_is_logged_and_dropped(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class NoInfo(otp.GenServer):
            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state)

        async def main() -> object:
            pid = await NoInfo.start_link("kept")
            assert pid is not None
            otp.send(pid, ("stray", 1))
            return await otp.call(pid, "state")

        assert clock.run(main) == "kept"
        warnings = [r for r in caplog.records if r.name == "otp"]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        assert "('stray', 1)" in warnings[0].getMessage()
        assert "NoInfo" in warnings[0].getMessage()

    def test_a_callback_returning_something_else_crashes_with_what_to_return(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class ForgetsReply(otp.GenServer):
            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return state

        async def main() -> object:
            pid = await ForgetsReply.start(0)
            assert pid is not None
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, "x")
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, TypeError)
        assert "handle_call must return otp.Reply(reply, state)" in str(reason)


class TestStop:
    def test_stop_waits_for_the_exit_and_returns(self, clock: VirtualClock) -> None:
        class SlowToStop(otp.GenServer):
            async def terminate(self, reason: Any, state: Any) -> None:
                await asyncio.sleep(2)

        async def main() -> tuple[object, float, bool]:
            pid = await SlowToStop.start(None)
            assert pid is not None
            result = await otp.stop(pid)  # type: ignore[func-returns-value]
            return result, clock.time(), otp.is_alive(pid)

        assert clock.run(main) == (None, 2.0, False)

    def test_stop_by_name_with_a_reason(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Server.start(None, name="srv")
            ref = otp.monitor(pid)
            await otp.stop("srv", ("shutdown", "maintenance"))
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        assert clock.run(main) == ("shutdown", "maintenance")

    def test_stop_of_a_dead_or_unknown_server_raises_no_proc(self, clock: VirtualClock) -> None:
        async def main() -> None:
            pid = await Server.start(None)
            assert pid is not None
            await otp.stop(pid)
            with pytest.raises(otp.NoProc):
                await otp.stop(pid)
            with pytest.raises(otp.NoProc):
                await otp.stop("nobody")

        clock.run(main)

    def test_stop_that_does_not_finish_in_time_raises_call_timeout(
        self, clock: VirtualClock
    ) -> None:
        class NeverStops(otp.GenServer):
            async def terminate(self, reason: Any, state: Any) -> None:
                await asyncio.sleep(100)

        async def main() -> float:
            pid = await NeverStops.start(None)
            assert pid is not None
            with pytest.raises(otp.CallTimeout):
                await otp.stop(pid, timeout=3)
            return clock.time()

        assert clock.run(main) == 3.0

    def test_stop_works_from_a_plain_asyncio_task(self) -> None:
        async def main() -> bool:
            async with otp.Node():
                pid = await Server.start(None)
                assert pid is not None
                await otp.stop(pid)
                return otp.is_alive(pid)

        assert asyncio.run(main()) is False


def test_a_late_deferred_reply_releases_the_pending_call(clock: VirtualClock) -> None:
    """A NoReply call answered after its caller timed out is no longer held by the server."""

    class Late(otp.GenServer):
        def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
            return otp.NoReply(from_)

        def handle_cast(self, request: object, state: object) -> Any:
            assert isinstance(state, otp.From)
            otp.reply(state, "late")
            return otp.NoReply(None)

    async def main() -> object:
        pid = await Late.start_link(None)
        assert pid is not None
        with pytest.raises(otp.CallTimeout):
            await otp.call(pid, "slow", timeout=1.0)
        otp.cast(pid, "answer now")
        await otp.sys.get_state(pid)  # the cast has been handled
        assert isinstance(pid, ServerProcess)
        return pid.deferred

    assert not clock.run(main)


class KillsItsCaller(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert from_.caller is not None
        otp.exit(from_.caller, "kill")
        return otp.Reply("too late", state)


class TestCallerKilledDuringTheCall:
    def test_a_caller_killed_by_the_server_does_not_go_on_with_the_reply(
        self, clock: VirtualClock
    ) -> None:
        async def caller(pid: otp.Pid, parent: otp.Pid) -> None:
            reply = await otp.call(pid, "hello")
            otp.send(parent, ("went on with", reply))  # must never happen

        async def main() -> list[object]:
            pid = await KillsItsCaller.start_link(None)
            assert pid is not None
            _, ref = otp.spawn_monitor(caller, pid, otp.self())
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            await wait_idle()
            rest = []
            while True:
                try:
                    rest.append(await otp.receive(timeout=0))
                except TimeoutError:
                    break
            assert isinstance(down, otp.Down)
            return [down.reason, *rest]

        assert clock.run(main) == ["killed"]


class TestCallTimeoutArgument:
    @pytest.mark.parametrize(
        ("timeout", "error"),
        [(-1, ValueError), (float("nan"), ValueError), ("5", TypeError), (True, TypeError)],
    )
    @pytest.mark.parametrize("busy", [False, True], ids=["idle server", "busy server"])
    def test_a_bad_timeout_is_refused_before_the_call_is_made(
        self, clock: VirtualClock, timeout: object, error: type[Exception], busy: bool
    ) -> None:
        class Counts(otp.GenServer):
            def handle_call(self, request: object, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state + 1)

            def handle_cast(self, request: object, state: Any) -> Any:
                return otp.NoReply(state)

        async def main() -> object:
            pid = await Counts.start(0)
            assert pid is not None
            if busy:
                otp.cast(pid, "queued first")
            with pytest.raises(error, match=r"otp.call: timeout must be seconds >= 0 or None"):
                await otp.call(pid, "count", timeout=timeout)  # type: ignore[arg-type]
            return await otp.call(pid, "count")  # the bad call never reached the server

        assert clock.run(main) == 0

    def test_zero_and_none_are_accepted(self, clock: VirtualClock) -> None:
        class Echo(otp.GenServer):
            def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                return otp.Reply(request, state)

        async def main() -> tuple[object, object]:
            pid = await Echo.start(None)
            assert pid is not None
            return await otp.call(pid, "a", timeout=0), await otp.call(pid, "b", timeout=None)

        assert clock.run(main) == ("a", "b")


class TestOtherTimeoutArguments:
    def test_receive_and_stop_refuse_a_negative_timeout(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match=r"otp\.receive: timeout must be"):
                await otp.receive(timeout=-0.5)
            pid = await otp.Agent.start_link(lambda: 0)
            with pytest.raises(ValueError, match=r"otp\.stop: timeout must be"):
                await otp.stop(pid, timeout=-1)

        clock.run(main)
