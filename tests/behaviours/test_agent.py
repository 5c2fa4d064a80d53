"""`otp.Agent`: start, get, update, get_and_update, cast, stop, names."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import pytest

import otp
from otp._behaviours._server_process import ServerProcess
from otp.testing import VirtualClock, wait_idle

T = TypeVar("T")


async def later(value: T) -> T:
    await asyncio.sleep(1)
    return value


class TestStartLink:
    def test_the_function_gives_the_initial_state(self, clock: VirtualClock) -> None:
        async def main() -> object:
            agent = await otp.Agent.start_link(lambda: [1, 2])
            return await otp.Agent.get(agent, lambda s: s)

        assert clock.run(main) == [1, 2]

    def test_an_async_function_gives_the_initial_state_before_start_returns(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float]:
            agent = await otp.Agent.start_link(lambda: later("ready"))
            started_at = clock.time()
            return await otp.Agent.get(agent, lambda s: s), started_at

        assert clock.run(main) == ("ready", 1.0)

    def test_the_agent_is_linked_to_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            agent = await otp.Agent.start_link(lambda: 0)
            info = otp.process_info(otp.self())
            assert info is not None
            links = info["links"]
            assert isinstance(links, list)
            return agent in links

        assert clock.run(main) is True

    def test_start_does_not_link(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            agent = await otp.Agent.start(lambda: 0)
            info = otp.process_info(otp.self())
            assert info is not None
            links = info["links"]
            assert isinstance(links, list)
            return agent in links

        assert clock.run(main) is False

    def test_a_value_instead_of_a_function_is_a_type_error_with_a_hint(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match=r"pass lambda: 0"):
                await otp.Agent.start_link(0)  # type: ignore[call-overload]

        otp.run(main)

    def test_a_failing_function_makes_start_fail(self, clock: VirtualClock) -> None:
        def broken() -> object:
            raise KeyError("config")

        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await otp.Agent.start_link(broken)
            return info.value.reason

        assert isinstance(clock.run(main), KeyError)


class TestNames:
    def test_a_named_agent_is_reached_by_its_name(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, bool]:
            agent: otp.Agent[dict[str, bool]] = await otp.Agent.start_link(
                lambda: {}, name="config"
            )
            await otp.Agent.update("config", lambda d: {**d, "debug": True})
            return await otp.Agent.get("config", lambda d: d), otp.whereis("config") is agent

        assert clock.run(main) == ({"debug": True}, True)

    def test_a_taken_name_raises_already_started(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            first = await otp.Agent.start_link(lambda: 0, name="config")
            with pytest.raises(otp.AlreadyStarted) as info:
                await otp.Agent.start_link(lambda: 1, name="config")
            return info.value.pid is first

        assert clock.run(main) is True

    def test_get_of_an_unknown_name_raises_noproc(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc):
                await otp.Agent.get("nobody", lambda s: s)

        clock.run(main)


class TestGetAndUpdate:
    def test_get_returns_the_function_of_the_state_and_keeps_it(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            agent = await otp.Agent.start_link(lambda: [3, 1, 2])
            return await otp.Agent.get(agent, sorted), await otp.Agent.get(agent, lambda s: s)

        assert clock.run(main) == ([1, 2, 3], [3, 1, 2])

    def test_update_replaces_the_state(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            agent = await otp.Agent.start_link(lambda: 1)
            result = await otp.Agent.update(agent, lambda n: n + 1)  # type: ignore[func-returns-value]
            return result, await otp.Agent.get(agent, lambda n: n)

        assert clock.run(main) == (None, 2)

    def test_get_and_update_returns_the_reply_and_stores_the_new_state(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            agent = await otp.Agent.start_link(lambda: [1, 2, 3])
            head = await otp.Agent.get_and_update(agent, lambda s: (s[0], s[1:]))
            return head, await otp.Agent.get(agent, lambda s: s)

        assert clock.run(main) == (1, [2, 3])

    def test_get_and_update_needs_a_pair(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            agent = await otp.Agent.start_link(lambda: 0)
            with pytest.raises(otp.Exit) as info:
                await otp.Agent.get_and_update(agent, lambda n: n)  # type: ignore[arg-type, return-value]
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, TypeError) and "(reply, new_state)" in str(reason)

    def test_async_functions_run_in_the_agent_one_at_a_time(self, clock: VirtualClock) -> None:
        async def slow_append(items: list[str]) -> list[str]:
            await asyncio.sleep(1)
            return [*items, "x"]

        async def main() -> tuple[object, float]:
            agent: otp.Agent[list[str]] = await otp.Agent.start_link(list)
            otp.Agent.cast(agent, slow_append)
            await otp.Agent.update(agent, slow_append)
            return await otp.Agent.get(agent, lambda s: later(s)), clock.time()

        assert clock.run(main) == (["x", "x"], 3.0)

    def test_a_crashing_function_crashes_the_agent_and_raises_exit(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, bool]:
            otp.trap_exit(True)
            agent: otp.Agent[dict[str, int]] = await otp.Agent.start_link(lambda: {})
            with pytest.raises(otp.Exit) as info:
                await otp.Agent.get(agent, lambda d: d["missing"])
            return info.value.reason, otp.is_alive(agent)

        reason, alive = clock.run(main)
        assert isinstance(reason, KeyError)
        assert not alive

    def test_a_slow_function_makes_the_caller_time_out(self, clock: VirtualClock) -> None:
        async def main() -> float:
            agent = await otp.Agent.start_link(lambda: 0)
            with pytest.raises(otp.CallTimeout):
                await otp.Agent.update(agent, lambda n: later(n), timeout=0.5)
            return clock.time()

        assert clock.run(main) == 0.5

    def test_a_non_function_is_rejected_in_the_caller(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            agent = await otp.Agent.start_link(lambda: 0)
            with pytest.raises(TypeError, match="needs a function"):
                await otp.Agent.update(agent, 5)  # type: ignore[call-overload]
            return otp.is_alive(agent)

        assert clock.run(main) is True


class TestCast:
    def test_cast_returns_at_once_and_applies_in_order(self, clock: VirtualClock) -> None:
        async def main() -> object:
            agent: otp.Agent[list[int]] = await otp.Agent.start_link(list)
            for n in range(3):
                otp.Agent.cast(agent, lambda s, n=n: [*s, n])  # type: ignore[misc]
            return await otp.Agent.get(agent, lambda s: s)

        assert clock.run(main) == [0, 1, 2]

    def test_cast_to_a_missing_agent_does_nothing(self, clock: VirtualClock) -> None:
        async def main() -> None:
            otp.Agent.cast("nobody", lambda s: s)

        clock.run(main)


class TestStop:
    def test_stop_ends_the_agent_with_the_reason(self, clock: VirtualClock) -> None:
        async def main() -> object:
            agent = await otp.Agent.start(lambda: 0)
            ref = otp.monitor(agent)
            await otp.Agent.stop(agent, "shutdown")
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        assert clock.run(main) == "shutdown"

    def test_stop_of_a_dead_agent_raises_noproc(self, clock: VirtualClock) -> None:
        async def main() -> None:
            agent = await otp.Agent.start(lambda: 0)
            await otp.Agent.stop(agent)
            with pytest.raises(otp.NoProc):
                await otp.Agent.stop(agent)

        clock.run(main)


class TestSupervision:
    def test_a_supervised_agent_restarts_with_a_fresh_state(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, bool]:
            await otp.Supervisor.start_link([otp.Agent.child_spec(lambda: 0, name="counter")])
            await otp.Agent.update("counter", lambda n: n + 5)
            first = otp.whereis("counter")
            assert first is not None
            ref = otp.monitor(first)
            otp.exit(first, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            await wait_idle()
            return await otp.Agent.get("counter", lambda n: n), otp.whereis("counter") is first

        assert clock.run(main) == (0, False)

    def test_an_agent_in_a_children_list_starts_with_its_function(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object]:
            sup = await otp.Supervisor.start_link([(otp.Agent, lambda: 7)])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            return child.id, await otp.Agent.get(child.pid, lambda n: n)  # type: ignore[call-overload]

        assert clock.run(main) == (otp.Agent, 7)


class TestTheAgentPid:
    def test_an_agent_is_an_otp_agent_and_a_pid(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool, bool]:
            agent = await otp.Agent.start_link(lambda: 0)
            pid = await Echo.start_link(None)
            return (
                isinstance(agent, otp.Agent),
                isinstance(agent, otp.Pid),
                isinstance(pid, otp.Agent),
            )

        assert clock.run(main) == (True, True, False)

    def test_its_process_keeps_the_fast_paths_of_a_plain_server(self, clock: VirtualClock) -> None:
        # `call` and `cast` take a short path for `type(server) is
        # ServerProcess`: an agent's process is one, also after otp.sys
        # swapped its debugging subclass in and out again.
        async def main() -> list[tuple[bool, bool]]:
            agent = await otp.Agent.start_link(lambda: 0)
            seen = [_kind(agent)]
            await otp.sys.trace(agent, True)
            seen.append(_kind(agent))
            await otp.sys.trace(agent, False)
            seen.append(_kind(agent))
            return seen

        assert clock.run(main) == [(True, True), (False, True), (True, True)]

    def test_it_has_no_public_constructor(self) -> None:
        with pytest.raises(TypeError, match="start_link"):
            otp.Agent()


class Echo(otp.GenServer):
    pass


def _kind(pid: object) -> tuple[bool, bool]:
    """Is `pid` exactly a ServerProcess, and is it an otp.Agent?"""
    return type(pid) is ServerProcess, isinstance(pid, otp.Agent)
