"""otp.sys: state, status, suspension, statistics and tracing of running servers."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock


class Counter(otp.GenServer):
    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        return otp.Reply(state, state + 1)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int) and isinstance(request, int)
        return otp.NoReply(state + request)

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        return {**status, "state": f"<counter at {status['state']}>"}


class TestGetState:
    def test_returns_the_current_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(7)
            assert pid is not None
            otp.cast(pid, 3)
            return await otp.sys.get_state(pid)

        assert clock.run(main) == 10

    def test_works_on_a_supervisor(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([(Counter, 0)])
            return await otp.sys.get_state(sup) is not None

        assert clock.run(main) is True

    def test_a_dead_server_raises_noproc(self, clock: VirtualClock) -> None:
        async def main() -> str:
            pid = await Counter.start(0)
            assert pid is not None
            await otp.stop(pid)
            with pytest.raises(otp.NoProc):
                await otp.sys.get_state(pid)
            with pytest.raises(otp.NoProc):
                await otp.sys.get_state("nobody")
            return "ok"

        assert clock.run(main) == "ok"

    def test_a_plain_process_is_refused_with_a_clear_error(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(TypeError, match="GenServer"):
                await otp.sys.get_state(otp.spawn(otp.receive))
            return "ok"

        assert clock.run(main) == "ok"


class TestReplaceState:
    def test_the_new_state_is_used_by_the_next_message(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(1)
            assert pid is not None
            new = await otp.sys.replace_state(pid, lambda s: s * 100)
            return new, await otp.call(pid, "get")

        assert clock.run(main) == (100, 100)

    def test_a_failing_function_leaves_the_state_and_raises(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(1)
            assert pid is not None
            with pytest.raises(ZeroDivisionError):
                await otp.sys.replace_state(pid, lambda s: s / 0)
            return await otp.sys.get_state(pid), otp.is_alive(pid)

        assert clock.run(main) == (1, True)


class TestGetStatus:
    def test_shows_the_state_through_format_status(self, clock: VirtualClock) -> None:
        async def main() -> dict[str, object]:
            pid = await Counter.start_link(4, name="counter")
            return await otp.sys.get_status(pid)

        status = clock.run(main)
        assert status["state"] == "<counter at 4>"
        assert status["registered_name"] == "counter"
        assert status["behaviour"] == "Counter"
        assert status["status"] == "running"


class TestSuspendResume:
    def test_a_suspended_server_holds_messages_until_resumed(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(0)
            assert pid is not None
            await otp.sys.suspend(pid)
            otp.cast(pid, 5)
            held = otp.process_info(pid)
            assert held is not None
            state_while_suspended = await otp.sys.get_state(pid)
            await otp.sys.resume(pid)
            return (
                held["message_queue_len"],
                held["status"],
                state_while_suspended,
                (await otp.sys.get_state(pid)),
            )

        assert clock.run(main) == (1, "suspended", 0, 5)

    def test_a_call_to_a_suspended_server_times_out(self, clock: VirtualClock) -> None:
        async def main() -> float:
            pid = await Counter.start_link(0)
            assert pid is not None
            await otp.sys.suspend(pid)
            with pytest.raises(otp.CallTimeout):
                await otp.call(pid, "get", timeout=2.0)
            return clock.time()

        assert clock.run(main) == 2.0


class TestStatistics:
    def test_counts_messages_in_and_replies_out(self, clock: VirtualClock) -> None:
        async def main() -> dict[str, object] | None:
            pid = await Counter.start_link(0)
            assert pid is not None
            otp.cast(pid, 1)  # before counting starts
            await otp.sys.statistics(pid, True)
            otp.cast(pid, 1)
            await otp.call(pid, "get")
            await otp.call(pid, "get")
            return await otp.sys.statistics(pid)

        stats = clock.run(main)
        assert stats is not None
        assert stats["messages_in"] == 3
        assert stats["messages_out"] == 2
        assert stats["messages_handled"] == 6  # over its life, system requests included
        assert stats["message_queue_len"] == 0

    def test_is_none_when_off_and_after_turning_off(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(0)
            before = await otp.sys.statistics(pid)
            await otp.sys.statistics(pid, True)
            await otp.sys.statistics(pid, False)
            return before, await otp.sys.statistics(pid)

        assert clock.run(main) == (None, None)


class TestTrace:
    def test_logs_every_event_while_on(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await Counter.start_link(0, name="traced")
            assert pid is not None
            await otp.sys.trace(pid, True)
            otp.cast(pid, 2)
            await otp.call(pid, "get")
            await otp.sys.trace(pid, False)
            await otp.call(pid, "get")

        with caplog.at_level(logging.INFO, logger="otp"):
            clock.run(main)
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("*DBG*")]
        assert any("got cast 2" in line for line in lines)
        assert any("got call 'get'" in line for line in lines)
        assert any("sent 2" in line for line in lines)
        assert any("new state 3" in line for line in lines)
        assert not any("new state 4" in line for line in lines)  # after trace off

    def test_a_traced_server_keeps_working_and_stops_normally(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Counter.start_link(0)
            assert pid is not None
            await otp.sys.trace(pid, True)
            value = await otp.call(pid, "get")
            await otp.stop(pid)
            assert pid is not None
            return value, otp.is_alive(pid)

        assert clock.run(main) == (0, False)


class WaitsWithTimeout(otp.GenServer):
    """Arms a 10 s `timeout=` on each call; tells its owner of each info message."""

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply("ok", state, timeout=10.0)

    def handle_cast(self, request: object, state: object) -> Any:
        return otp.NoReply(state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, tuple)
        owner, clock = state
        otp.send(owner, (msg, clock.time()))
        return otp.NoReply(state)


class TestTimeoutAcrossSystemRequests:
    """A `timeout=` wait starts over after a system message, as in gen_server."""

    def test_a_reply_timeout_is_rearmed_after_a_sys_request(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await WaitsWithTimeout.start_link((otp.self(), clock))
            assert pid is not None
            await otp.call(pid, "arm")
            otp.send_after(otp.self(), "poke", 4.0)
            assert await otp.receive() == "poke"
            await otp.sys.get_state(pid)
            return await otp.receive()

        assert clock.run(main) == ("timeout", 14.0)

    def test_a_message_after_the_sys_request_still_ends_the_wait(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await WaitsWithTimeout.start_link((otp.self(), clock))
            assert pid is not None
            await otp.call(pid, "arm")
            await otp.sys.get_state(pid)
            otp.cast(pid, "ends the wait")
            try:
                return await otp.receive(timeout=60.0)
            except TimeoutError:
                return "no timeout message"

        assert clock.run(main) == "no timeout message"


class Migrating(otp.GenServer[tuple[Any, ...]]):
    """State `(version, value)`; `code_change` moves it to version 2."""

    def init(self, arg: Any) -> tuple[Any, ...]:
        return (1, arg)

    def handle_call(
        self, request: object, from_: otp.From, state: tuple[Any, ...]
    ) -> otp.Reply[tuple[Any, ...]]:
        return otp.Reply(state, state)

    def code_change(
        self, old_vsn: object, state: tuple[Any, ...], extra: object
    ) -> tuple[Any, ...]:
        return (2, state[1], old_vsn, extra)

    def terminate(self, reason: object, state: tuple[Any, ...]) -> None:
        otp.send(state[1], ("terminated", reason))


class TestChangeCode:
    def test_a_suspended_server_migrates_its_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Migrating.start_link("v")
            assert pid is not None
            await otp.sys.suspend(pid)
            await otp.sys.change_code(pid, "migrating", "1.0", "extra")
            await otp.sys.resume(pid)
            return await otp.call(pid, "state")

        assert clock.run(main) == (2, "v", "1.0", "extra")

    def test_a_server_that_is_not_suspended_is_refused(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Migrating.start_link("v")
            assert pid is not None
            with pytest.raises(RuntimeError, match=r"call otp\.sys\.suspend first"):
                await otp.sys.change_code(pid, "migrating", "1.0", None)
            return await otp.call(pid, "state")

        assert clock.run(main) == (1, "v")


class TestTerminate:
    def test_stops_the_server_with_the_reason_running_terminate(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, bool]:
            pid = await Migrating.start(otp.self())
            assert pid is not None
            await otp.sys.terminate(pid, "shutdown")
            assert pid is not None
            return await otp.receive(), otp.is_alive(pid)

        assert clock.run(main) == (("terminated", "shutdown"), False)

    def test_a_dead_server_raises_noproc(self, clock: VirtualClock) -> None:
        async def main() -> None:
            pid = await Migrating.start(otp.self())
            assert pid is not None
            await otp.sys.terminate(pid)
            with pytest.raises(otp.NoProc):
                await otp.sys.terminate(pid)

        clock.run(main)
