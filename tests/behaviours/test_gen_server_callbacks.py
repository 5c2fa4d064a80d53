"""GenServer callbacks and what they return: Reply, NoReply, Stop and their options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


class Recorder(otp.GenServer):
    """Keeps a list of events; requests are tuples telling it what to return."""

    def init(self, arg: Any) -> Any:
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        match request:
            case "events":
                return otp.Reply(state, state)
            case ("reply", value, opts):
                return otp.Reply(value, [*state, ("call", value)], **opts)
            case ("noreply_then_reply_from", helper):
                otp.send(helper, from_)
                return otp.NoReply(state)
            case ("noreply_task",):
                self.task = asyncio.ensure_future(_reply_later(from_))
                return otp.NoReply(state)
            case ("noreply_loop",):
                asyncio.get_running_loop().call_soon(otp.reply, from_, "from the loop")
                return otp.NoReply(state)
            case ("stop", reason, reply):
                return otp.Stop(reason, state, reply=reply)
            case ("stop", reason):
                return otp.Stop(reason, state)
        raise AssertionError(f"unexpected call {request!r}")

    def handle_cast(self, request: Any, state: Any) -> Any:
        match request:
            case ("stop", reason):
                return otp.Stop(reason, state)
            case ("opts", opts):
                return otp.NoReply([*state, ("cast", "opts")], **opts)
        return otp.NoReply([*state, ("cast", request)])

    def handle_info(self, msg: Any, state: Any) -> Any:
        match msg:
            case ("stop", reason):
                return otp.Stop(reason)
            case ("opts", opts):
                return otp.NoReply([*state, ("info", "opts")], **opts)
            case "timeout":
                loop = asyncio.get_running_loop()
                return otp.NoReply([*state, ("timeout", loop.time())])
        return otp.NoReply([*state, ("info", msg)])

    def handle_continue(self, arg: Any, state: Any) -> Any:
        match arg:
            case ("stop", reason):
                return otp.Stop(reason, state)
            case ("chain", n) if n > 0:
                return otp.NoReply([*state, ("continue", n)], continue_=("chain", n - 1))
        return otp.NoReply([*state, ("continue", arg)])

    def terminate(self, reason: Any, state: Any) -> None:
        watcher = otp.whereis("watcher")
        if watcher is not None:
            otp.send(watcher, ("terminate", reason, state))


async def _reply_later(from_: otp.From) -> None:
    otp.reply(from_, "from a task")


async def _events(pid: otp.Pid) -> Any:
    return await otp.call(pid, "events")


async def _reply_from_helper() -> None:
    from_ = await otp.receive()
    assert isinstance(from_, otp.From)
    otp.reply(from_, "from a helper process")


async def _down(pid: otp.Pid | None) -> object:
    assert pid is not None
    ref = otp.monitor(pid)
    down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down)
    return down.reason


class TestHandleCall:
    def test_reply_answers_and_sets_the_state(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            pid = await Recorder.start_link(None)
            assert pid is not None
            answer = await otp.call(pid, ("reply", 42, {}))
            return answer, await _events(pid)

        assert clock.run(main) == (42, [("call", 42)])

    def test_noreply_then_reply_from_a_spawned_process(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            helper = otp.spawn(_reply_from_helper)
            return await otp.call(pid, ("noreply_then_reply_from", helper))

        assert clock.run(main) == "from a helper process"

    def test_noreply_then_reply_from_a_plain_asyncio_task(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            return await otp.call(pid, ("noreply_task",))

        assert clock.run(main) == "from a task"

    def test_noreply_then_reply_from_a_loop_callback(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            return await otp.call(pid, ("noreply_loop",))

        assert clock.run(main) == "from the loop"

    def test_a_server_with_a_deferred_reply_keeps_handling_messages(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            me = otp.self()

            async def caller() -> None:
                otp.send(me, await otp.call(pid, ("noreply_then_reply_from", me)))

            otp.spawn(caller)
            from_ = await otp.receive()
            assert isinstance(from_, otp.From)
            events = await _events(pid)  # the server is free meanwhile
            otp.reply(from_, "late")
            return events, await otp.receive()

        assert clock.run(main) == ([], "late")

    def test_stop_with_reply_answers_then_stops(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object, object]:
            otp.register("watcher", otp.self())
            pid = await Recorder.start(None)
            assert pid is not None
            answer = await otp.call(pid, ("stop", "normal", "bye"))
            return answer, await otp.receive(), otp.is_alive(pid)

        assert clock.run(main) == ("bye", ("terminate", "normal", []), False)

    def test_stop_without_reply_raises_exit_in_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            otp.register("watcher", otp.self())
            pid = await Recorder.start(None)
            assert pid is not None
            otp.cast(pid, "queued first")  # the call waits in the mailbox
            with pytest.raises(otp.Exit) as info:
                await otp.call(pid, ("stop", "shutdown"))
            return info.value.reason, await otp.receive()

        assert clock.run(main) == (
            "shutdown",
            ("terminate", "shutdown", [("cast", "queued first")]),
        )

    def test_reply_to_something_else_than_a_from_is_a_type_error(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="from_ argument"):
                otp.reply("caller", 1)  # type: ignore[arg-type]

        clock.run(main)


class TestHandleCastInfoContinue:
    def test_cast_and_info_thread_the_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.cast(pid, "c")
            otp.send(pid, "i")
            return await _events(pid)

        assert clock.run(main) == [("cast", "c"), ("info", "i")]

    @pytest.mark.parametrize("how", ["cast", "info", "continue"])
    def test_stop_from_any_callback_runs_terminate_with_its_reason(
        self, clock: VirtualClock, how: str
    ) -> None:
        async def main() -> tuple[object, object]:
            otp.register("watcher", otp.self())
            pid = await Recorder.start(None)
            assert pid is not None
            if how == "cast":
                otp.cast(pid, ("stop", "shutdown"))
            elif how == "info":
                otp.send(pid, ("stop", "shutdown"))
            else:
                otp.cast(pid, ("opts", {"continue_": ("stop", "shutdown")}))
            reason = await _down(pid)
            told = await otp.receive()
            assert isinstance(told, tuple)
            return reason, told[:2]

        assert clock.run(main) == ("shutdown", ("terminate", "shutdown"))

    def test_continue_chains_run_before_queued_messages(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.send(pid, ("opts", {"continue_": ("chain", 2)}))
            otp.send(pid, "after")
            return await _events(pid)

        assert clock.run(main) == [
            ("info", "opts"),
            ("continue", 2),
            ("continue", 1),
            ("continue", ("chain", 0)),
            ("info", "after"),
        ]

    def test_continue_from_a_reply_runs_before_the_next_call(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            await otp.call(pid, ("reply", 1, {"continue_": "c"}))
            return await _events(pid)

        assert clock.run(main) == [("call", 1), ("continue", "c")]

    def test_hibernate_is_accepted_everywhere(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            await otp.call(pid, ("reply", 1, {"hibernate": True}))
            otp.cast(pid, ("opts", {"hibernate": True}))
            otp.send(pid, ("opts", {"hibernate": True}))
            return await _events(pid)

        assert clock.run(main) == [("call", 1), ("cast", "opts"), ("info", "opts")]


class TestTimeoutOption:
    def test_timeout_delivers_timeout_to_handle_info_at_the_exact_time(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.cast(pid, ("opts", {"timeout": 3.0}))
            await asyncio.sleep(10)
            return await _events(pid)

        assert clock.run(main) == [("cast", "opts"), ("timeout", 3.0)]

    def test_any_message_cancels_the_timeout(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.cast(pid, ("opts", {"timeout": 3.0}))
            await asyncio.sleep(2)
            otp.send(pid, "in time")
            await asyncio.sleep(10)
            return await _events(pid)

        assert clock.run(main) == [("cast", "opts"), ("info", "in time")]

    def test_a_call_cancels_the_timeout(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            await otp.call(pid, ("reply", 1, {"timeout": 3.0}))
            await asyncio.sleep(2)
            await otp.call(pid, ("reply", 2, {}))
            await asyncio.sleep(10)
            return await _events(pid)

        assert clock.run(main) == [("call", 1), ("call", 2)]

    def test_a_renewed_timeout_counts_from_the_last_message(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            await otp.call(pid, ("reply", 1, {"timeout": 3.0}))
            await asyncio.sleep(2)
            await otp.call(pid, ("reply", 2, {"timeout": 3.0}))
            await asyncio.sleep(10)
            return await _events(pid)

        assert clock.run(main) == [("call", 1), ("call", 2), ("timeout", 5.0)]

    def test_a_zero_timeout_fires_when_the_mailbox_is_empty(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.send(pid, ("opts", {"timeout": 0}))
            await wait_idle()
            return await _events(pid)

        assert clock.run(main) == [("info", "opts"), ("timeout", 0.0)]

    def test_no_timeout_when_a_message_is_already_queued(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Recorder.start_link(None)
            assert pid is not None
            otp.send(pid, ("opts", {"timeout": 1.0}))
            otp.send(pid, "queued")
            await asyncio.sleep(5)
            return await _events(pid)

        assert clock.run(main) == [("info", "opts"), ("info", "queued")]


class AsyncRecorder(otp.GenServer):
    """Every callback is `async def` and awaits before answering."""

    async def init(self, arg: Any) -> Any:
        await asyncio.sleep(1)
        return otp.Ok(["init"], continue_="boot")

    async def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        await asyncio.sleep(1)
        match request:
            case "events":
                return otp.Reply(state, state)
            case "noreply":
                asyncio.get_running_loop().call_later(1, otp.reply, from_, "later")
                return otp.NoReply(state)
            case "stop":
                return otp.Stop("normal", state, reply="stopping")
            case "self":
                return otp.Reply(otp.self(), state)
        raise AssertionError(request)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        await asyncio.sleep(1)
        if request == "stop":
            return otp.Stop("shutdown", state)
        return otp.NoReply([*state, ("cast", request)], timeout=5)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        await asyncio.sleep(1)
        return otp.NoReply([*state, ("info", msg, asyncio.get_running_loop().time())])

    async def handle_continue(self, arg: Any, state: Any) -> Any:
        await asyncio.sleep(1)
        return otp.NoReply([*state, ("continue", arg)])

    async def terminate(self, reason: Any, state: Any) -> None:
        await asyncio.sleep(1)
        otp.send("watcher", ("terminate", reason))


class TestAsyncCallbacks:
    def test_every_async_callback_is_awaited_in_order(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            pid = await AsyncRecorder.start_link(None)
            assert pid is not None
            otp.cast(pid, "c")
            otp.send(pid, "i")
            return await otp.call(pid, "events"), clock.time()

        # init 1 s, continue 1 s, cast 1 s, info 1 s, call 1 s.
        assert clock.run(main) == (
            ["init", ("continue", "boot"), ("cast", "c"), ("info", "i", 4.0)],
            5.0,
        )

    def test_async_handle_call_runs_as_the_server(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await AsyncRecorder.start_link(None)
            assert pid is not None
            return await otp.call(pid, "self") is pid

        assert clock.run(main)

    def test_async_noreply_then_reply(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            pid = await AsyncRecorder.start_link(None)
            assert pid is not None
            await otp.call(pid, "events")
            start = clock.time()
            return await otp.call(pid, "noreply"), clock.time() - start

        assert clock.run(main) == ("later", 2.0)

    def test_async_timeout_option_and_async_terminate(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object, float]:
            otp.register("watcher", otp.self())
            pid = await AsyncRecorder.start(None)
            assert pid is not None
            otp.cast(pid, "c")  # handled from 2.0 to 3.0, then timeout=5
            await asyncio.sleep(9)
            events = await otp.call(pid, "events")
            stopping = await otp.call(pid, "stop")
            return events, (stopping, await otp.receive()), clock.time()

        events, stopped, now = clock.run(main)
        assert events == [
            "init",
            ("continue", "boot"),
            ("cast", "c"),
            ("info", "timeout", 9.0),
        ]
        assert stopped == ("stopping", ("terminate", "normal"))
        assert now == 13.0

    def test_messages_wait_while_an_async_callback_runs(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await AsyncRecorder.start_link(None)
            assert pid is not None
            for i in range(3):
                otp.cast(pid, i)
            return await otp.call(pid, "events", timeout=None)

        assert clock.run(main) == [
            "init",
            ("continue", "boot"),
            ("cast", 0),
            ("cast", 1),
            ("cast", 2),
        ]

    def test_async_stop_from_cast_runs_async_terminate(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object, float]:
            otp.register("watcher", otp.self())
            pid = await AsyncRecorder.start(None)
            assert pid is not None
            otp.cast(pid, "stop")
            return await _down(pid), await otp.receive(), clock.time()

        # init 1, continue 1, cast 1, terminate 1.
        assert clock.run(main) == ("shutdown", ("terminate", "shutdown"), 4.0)


class TestKilledDuringAsyncCallback:
    def test_a_kill_before_an_async_callback_starts_leaves_no_unawaited_coroutine(
        self, clock: VirtualClock
    ) -> None:
        import gc
        import warnings

        class Slow(otp.GenServer):
            async def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                return otp.Reply("never", state)  # pragma: no cover - killed first

        async def main() -> object:
            pid = await Slow.start(None)
            assert pid is not None
            loop = asyncio.get_running_loop()
            ref = otp.monitor(pid)
            caller = asyncio.ensure_future(otp.call(pid, "work"))
            # Ready queue: [caller's step, L1]; the step queues the server's
            # batch, L1 queues L2 behind it; the batch creates the callback's
            # Task, whose first step queues behind L2, which kills the server.
            loop.call_soon(loop.call_soon, otp.exit, pid, "kill")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            with pytest.raises(otp.Exit):
                await caller
            assert isinstance(down, otp.Down)
            return down.reason

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert clock.run(main) == "killed"
            gc.collect()
        assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
