"""Starting a GenServer: every outcome of `init`, names, links and start timeouts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


class Echo(otp.GenServer):
    """State is whatever init returned; a call answers the state."""

    def init(self, arg: Any) -> Any:
        return arg

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        return otp.Reply(state, state)


class Returns(otp.GenServer):
    """`init` returns its argument as is: a plain state or a result object."""

    def init(self, arg: Any) -> Any:
        return arg

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        return otp.Reply(state, state)

    def handle_info(self, msg: Any, state: Any) -> Any:
        return otp.NoReply([*state, msg])

    def handle_continue(self, arg: Any, state: Any) -> Any:
        return otp.NoReply([*state, ("continue", arg)])


class Raises(otp.GenServer):
    def init(self, arg: Any) -> Any:
        raise ValueError(f"bad arg {arg!r}")


class TestInitResults:
    def test_a_plain_value_is_the_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start_link({"a": 1})
            assert pid is not None
            return await otp.call(pid, "state")

        assert clock.run(main) == {"a": 1}

    def test_none_is_a_valid_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start_link(None)
            assert pid is not None
            return await otp.call(pid, "state")

        assert clock.run(main) is None

    def test_ok_sets_the_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Returns.start_link(otp.Ok([1], hibernate=True))
            assert pid is not None
            return await otp.call(pid, "state")

        assert clock.run(main) == [1]

    def test_ok_with_a_timeout_delivers_timeout_when_no_message_arrives(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float]:
            pid = await Returns.start_link(otp.Ok([], timeout=2.5))
            assert pid is not None
            await asyncio.sleep(10)
            return await otp.call(pid, "state"), clock.time()

        assert clock.run(main) == (["timeout"], 10.0)

    def test_ok_with_continue_runs_handle_continue_before_any_message(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            pid = await Returns.start_link(otp.Ok([], continue_="setup"))
            assert pid is not None
            otp.send(pid, "first message")
            return await otp.call(pid, "state")

        assert clock.run(main) == [("continue", "setup"), "first message"]

    def test_continue_lets_start_return_before_slow_setup(self, clock: VirtualClock) -> None:
        class SlowSetup(otp.GenServer):
            def init(self, arg: Any) -> Any:
                return otp.Ok("booting", continue_="setup")

            async def handle_continue(self, arg: Any, state: Any) -> Any:
                await asyncio.sleep(10)
                return otp.NoReply("ready")

            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state)

        async def main() -> tuple[float, object, float]:
            pid = await SlowSetup.start_link(None)
            assert pid is not None
            started = clock.time()
            return started, await otp.call(pid, "state", timeout=None), clock.time()

        assert clock.run(main) == (0.0, "ready", 10.0)

    def test_ignore_makes_start_return_none_and_the_process_exit_normally(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[object, object, int]:
            before = len(otp.processes())
            linked = await Returns.start_link(otp.Ignore(), name="ignored")
            unlinked = await Returns.start(otp.Ignore())
            return linked, unlinked, len(otp.processes()) - before

        assert clock.run(main) == (None, None, 0)
        assert caplog.records == []

    def test_ignore_frees_the_name(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await Returns.start_link(otp.Ignore(), name="n")
            return otp.whereis("n")

        assert clock.run(main) is None

    def test_stop_raises_start_error_with_the_reason(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await Returns.start_link(otp.Stop("no_config"))
            return info.value.reason

        assert clock.run(main) == "no_config"
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    def test_a_reply_from_init_is_a_bad_return_value(self, clock: VirtualClock) -> None:
        async def main() -> object:
            with pytest.raises(otp.StartError, match="init must return") as info:
                await Returns.start_link(otp.Reply(1, 2))
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, tuple) and reason[0] == "bad_return_value"


class TestInitRaising:
    def test_start_link_raises_start_error_carrying_the_exception(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await Raises.start_link(7)
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "bad arg 7"

    def test_the_caller_of_start_link_is_not_killed(self, clock: VirtualClock) -> None:
        async def main() -> object:
            with pytest.raises(otp.StartError):
                await Raises.start_link(1)
            await wait_idle()
            me = otp.process_info(otp.self())
            assert me is not None
            return me["links"]

        assert clock.run(main) == []

    def test_the_failure_is_logged_exactly_once_as_an_error(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            with pytest.raises(otp.StartError):
                await Raises.start_link(1, name="raiser")
            await wait_idle()

        clock.run(main)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert errors[0].name == "otp"
        assert "Raises" in errors[0].getMessage() and "'raiser'" in errors[0].getMessage()
        assert errors[0].exc_info is not None and errors[0].exc_info[0] is ValueError

    def test_raising_exit_makes_its_reason_the_start_error_reason(
        self, clock: VirtualClock
    ) -> None:
        class ExitsInInit(otp.GenServer):
            def init(self, arg: Any) -> Any:
                raise otp.Exit("no_db")

        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await ExitsInInit.start(None)
            return info.value.reason

        assert clock.run(main) == "no_db"

    def test_processes_linked_in_init_get_the_exit_signal(self, clock: VirtualClock) -> None:
        class SpawnsThenRaises(otp.GenServer):
            def init(self, watcher: Any) -> Any:
                helper = otp.spawn_link(otp.receive)
                otp.send(watcher, helper)
                raise RuntimeError("late failure")

        async def main() -> bool:
            with pytest.raises(otp.StartError):
                await SpawnsThenRaises.start_link(otp.self())
            helper = await otp.receive()
            assert isinstance(helper, otp.Pid)
            return otp.is_alive(helper)

        assert clock.run(main) is False


class TestAsyncInit:
    def test_async_init_is_awaited_before_start_returns(self, clock: VirtualClock) -> None:
        class Slow(otp.GenServer):
            async def init(self, arg: Any) -> Any:
                await asyncio.sleep(3)
                return otp.Ok(("ready", arg))

            async def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state)

        async def main() -> tuple[object, float]:
            pid = await Slow.start_link(1)
            assert pid is not None
            return await otp.call(pid, "state"), clock.time()

        assert clock.run(main) == (("ready", 1), 3.0)

    def test_start_timeout_raises_start_error_and_kills_the_server(
        self, clock: VirtualClock
    ) -> None:
        class Hangs(otp.GenServer):
            async def init(self, arg: Any) -> Any:
                await asyncio.sleep(100)
                return arg

        async def main() -> tuple[object, float, object]:
            with pytest.raises(otp.StartError) as info:
                await Hangs.start_link(None, name="hangs", timeout=2.0)
            return info.value.reason, clock.time(), otp.whereis("hangs")

        assert clock.run(main) == ("timeout", 2.0, None)

    def test_async_init_raising_fails_the_start(self, clock: VirtualClock) -> None:
        class Fails(otp.GenServer):
            async def init(self, arg: Any) -> Any:
                await asyncio.sleep(1)
                raise KeyError(arg)

        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await Fails.start_link("k")
            return info.value.reason

        assert isinstance(clock.run(main), KeyError)

    def test_a_server_killed_during_async_init_fails_the_start_without_killing_the_caller(
        self, clock: VirtualClock
    ) -> None:
        async def crash_soon() -> None:
            await asyncio.sleep(1)
            raise otp.Exit("helper_failed")

        class LinksHelper(otp.GenServer):
            async def init(self, arg: Any) -> Any:
                otp.spawn_link(crash_soon)
                await asyncio.sleep(10)
                return arg

        async def main() -> tuple[object, float, bool]:
            with pytest.raises(otp.StartError) as info:
                await LinksHelper.start_link(None)
            return info.value.reason, clock.time(), otp.is_alive(otp.self())

        assert clock.run(main) == ("helper_failed", 1.0, True)

    def test_messages_sent_during_async_init_wait_for_it(self, clock: VirtualClock) -> None:
        class Announces(otp.GenServer):
            async def init(self, caller: Any) -> Any:
                otp.send(caller, otp.self())
                await asyncio.sleep(1)
                return ["init"]

            def handle_cast(self, request: Any, state: Any) -> Any:
                return otp.NoReply([*state, request])

            def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
                return otp.Reply(state, state)

        async def main() -> object:
            me = otp.self()

            async def starter() -> None:
                pid = await Announces.start_link(me)
                otp.send(me, ("started", pid))

            otp.spawn(starter)
            server = await otp.receive()
            assert isinstance(server, otp.Pid)
            otp.cast(server, "early")
            started = await otp.receive()
            assert isinstance(started, tuple) and started[1] is server
            return await otp.call(server, "state")

        assert clock.run(main) == ["init", "early"]


class TestNames:
    def test_a_str_name_registers_the_server(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await Echo.start_link(1, name="echo")
            return otp.whereis("echo") is pid

        assert clock.run(main)

    def test_a_taken_name_raises_already_started_with_the_holder(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            first = await Echo.start_link(1, name="echo")
            with pytest.raises(otp.AlreadyStarted) as info:
                await Echo.start_link(2, name="echo")
            assert isinstance(info.value, otp.StartError)
            return info.value.pid is first

        assert clock.run(main)

    def test_a_failed_init_frees_the_name(self, clock: VirtualClock) -> None:
        async def main() -> object:
            with pytest.raises(otp.StartError):
                await Raises.start_link(1, name="raiser")
            return otp.whereis("raiser")

        assert clock.run(main) is None

    def test_a_name_of_the_wrong_type_says_what_is_accepted(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="name must be a str"):
                await Echo.start_link(1, name=42)

        clock.run(main)


class TestLinks:
    def test_start_link_links_the_caller_and_start_does_not(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool]:
            linked = await Echo.start_link(1)
            unlinked = await Echo.start(1)
            links = otp.process_info(otp.self())
            assert links is not None
            mine = links["links"]
            assert isinstance(mine, list)
            return linked in mine, unlinked in mine

        assert clock.run(main) == (True, False)

    def test_start_works_from_a_plain_asyncio_task(self) -> None:
        async def main() -> object:
            async with otp.Node():
                pid = await Echo.start_link("from a task")
                assert pid is not None
                return await otp.call(pid, "state")

        assert asyncio.run(main()) == "from a task"

    def test_start_link_needs_a_gen_server_subclass(self, clock: VirtualClock) -> None:
        from otp._behaviours._gen_server import start_server

        async def main() -> None:
            with pytest.raises(TypeError, match="GenServer subclass"):
                await start_server(int, None, None, None, link=True)  # type: ignore[arg-type]

        clock.run(main)


def test_a_taken_global_name_leaves_no_process_behind(clock: VirtualClock) -> None:
    class Named(otp.GenServer):
        pass

    async def main() -> int:
        await Named.start_link(None, name=otp.Global("model"))
        before = len(otp.processes())
        with pytest.raises(otp.AlreadyStarted):
            await Named.start_link(None, name=otp.Global("model"))
        return len(otp.processes()) - before

    assert clock.run(main) == 0
