"""Links, monitors, trapping exits and Erlang's exit-signal rules."""

from __future__ import annotations

import asyncio

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


async def forever() -> None:
    """A process that waits until a signal ends it."""
    await otp.receive(match=lambda m: False)


async def crash(message: str = "boom") -> None:
    raise ValueError(message)


async def returns(value: object = None) -> object:
    return value


async def exit_with(reason: object) -> None:
    raise otp.Exit(reason)


async def down_of(pid: otp.Pid, ref: otp.Ref) -> object:
    """Wait for the Down of the monitor `ref` and return its reason."""
    down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down) and down.pid is pid
    return down.reason


def info(pid: otp.Pid) -> dict[str, object]:
    result = otp.process_info(pid)
    assert result is not None
    return result


class TestLink:
    def test_a_crash_kills_the_linked_process_with_the_same_reason(self) -> None:
        async def parent() -> None:
            otp.spawn_link(crash)
            await forever()

        async def main() -> object:
            pid, ref = otp.spawn_monitor(parent)
            return await down_of(pid, ref)

        reason = otp.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "boom"

    def test_a_link_made_by_one_side_carries_signals_both_ways(self) -> None:
        async def linker(target: otp.Pid, parent: otp.Pid) -> None:
            otp.link(target)
            otp.send(parent, "linked")
            await forever()

        async def main() -> tuple[object, object]:
            # The linker's death reaches the target ...
            target, target_ref = otp.spawn_monitor(forever)
            first, _ = otp.spawn_monitor(linker, target, otp.self())
            await otp.receive(match=lambda m: m == "linked")
            otp.exit(first, "from linker")
            forward = await down_of(target, target_ref)
            # ... and the target's death reaches the linker.
            target = otp.spawn(forever)
            second, second_ref = otp.spawn_monitor(linker, target, otp.self())
            await otp.receive(match=lambda m: m == "linked")
            otp.exit(target, "from target")
            return forward, await down_of(second, second_ref)

        assert otp.run(main) == ("from linker", "from target")

    def test_a_normal_exit_does_not_kill_a_linked_process(self) -> None:
        async def main() -> bool:
            child = otp.spawn_link(returns)
            ref = otp.monitor(child)
            assert await down_of(child, ref) == "normal"
            await wait_idle()
            return otp.is_alive(otp.self())

        assert otp.run(main) is True

    def test_unlink_stops_propagation(self) -> None:
        async def main() -> bool:
            child = otp.spawn_link(forever)
            otp.unlink(child)
            ref = otp.monitor(child)
            otp.exit(child, "bang")
            assert await down_of(child, ref) == "bang"
            return otp.is_alive(otp.self())

        assert otp.run(main) is True

    def test_unlink_removes_both_halves(self) -> None:
        async def main() -> tuple[object, object]:
            child = otp.spawn_link(forever)
            assert info(child)["links"] == [otp.self()]
            otp.unlink(child)
            return info(child)["links"], info(otp.self())["links"]

        assert otp.run(main) == ([], [])

    def test_linking_to_a_dead_process_raises_noproc(self) -> None:
        async def main() -> None:
            pid, ref = otp.spawn_monitor(returns)
            await down_of(pid, ref)
            with pytest.raises(otp.NoProc):
                otp.link(pid)

        otp.run(main)

    def test_a_trapping_process_linking_to_a_dead_one_gets_exited_noproc(self) -> None:
        async def main() -> object:
            pid, ref = otp.spawn_monitor(returns)
            await down_of(pid, ref)
            otp.trap_exit(True)
            otp.link(pid)
            return await otp.receive(timeout=0) == otp.Exited(pid, "noproc")

        assert otp.run(main) is True

    def test_linking_to_self_does_nothing(self) -> None:
        async def main() -> object:
            otp.link(otp.self())
            return info(otp.self())["links"]

        assert otp.run(main) == []

    def test_link_needs_a_pid(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="link needs a Pid"):
                otp.link("someone")  # type: ignore[arg-type]

        otp.run(main)


class TestMonitor:
    def test_down_carries_the_exit_reason(self) -> None:
        async def main() -> list[object]:
            pid, ref = otp.spawn_monitor(returns, 1)
            reasons = [await down_of(pid, ref)]
            for reason in ["shutdown", ("shutdown", 1)]:
                pid, ref = otp.spawn_monitor(exit_with, reason)
                reasons.append(await down_of(pid, ref))
            return reasons

        assert otp.run(main) == ["normal", "shutdown", ("shutdown", 1)]

    def test_the_reason_of_a_crash_is_the_exception(self) -> None:
        async def main() -> object:
            pid, ref = otp.spawn_monitor(crash, "bad")
            return await down_of(pid, ref)

        reason = otp.run(main)
        assert isinstance(reason, ValueError) and reason.args == ("bad",)

    def test_monitoring_a_dead_process_delivers_noproc_at_once(self) -> None:
        async def main() -> object:
            pid, ref = otp.spawn_monitor(returns)
            await down_of(pid, ref)
            ref2 = otp.monitor(pid)
            return await otp.receive(timeout=0) == otp.Down(ref2, pid, "noproc")

        assert otp.run(main) is True

    def test_monitoring_an_unknown_name_delivers_noproc_at_once(self) -> None:
        async def main() -> object:
            ref = otp.monitor("nobody")
            down = otp.Down(ref, ("nobody", "nonode@nohost"), "noproc")
            return await otp.receive(timeout=0) == down

        assert otp.run(main) is True

    def test_monitoring_a_registered_name_watches_its_process(self) -> None:
        async def main() -> object:
            pid = otp.spawn(forever)
            otp.register("target", pid)
            ref = otp.monitor("target")
            otp.exit(pid, "bye")
            down = await otp.receive()
            assert isinstance(down, otp.Down)
            return down.ref == ref, down.pid, down.reason

        # As in Erlang, a monitor by name names the process (name, node) in its Down.
        assert otp.run(main) == (True, ("target", "nonode@nohost"), "bye")

    def test_each_monitor_fires_once(self) -> None:
        async def main() -> bool:
            pid = otp.spawn(forever)
            refs = [otp.monitor(pid), otp.monitor(pid)]
            otp.exit(pid, "x")
            downs = [await otp.receive(), await otp.receive()]
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)
            return [d.ref for d in downs if isinstance(d, otp.Down)] == refs

        assert otp.run(main) is True

    def test_monitors_are_listed_in_process_info(self) -> None:
        async def main() -> object:
            pid = otp.spawn(forever)
            otp.monitor(pid)
            return info(otp.self())["monitors"] == [pid]

        assert otp.run(main) is True

    def test_a_monitored_process_is_not_killed_by_the_watchers_death(self) -> None:
        async def watcher(target: otp.Pid) -> None:
            otp.monitor(target)
            raise ValueError("watcher dies")

        async def main() -> bool:
            pid = otp.spawn(forever)
            w, ref = otp.spawn_monitor(watcher, pid)
            await down_of(w, ref)
            return otp.is_alive(pid)

        assert otp.run(main) is True


class TestDemonitor:
    def test_no_down_arrives_after_demonitor(self) -> None:
        async def main() -> bool:
            pid = otp.spawn(forever)
            ref = otp.monitor(pid)
            assert otp.demonitor(ref) is True
            ref2 = otp.monitor(pid)
            otp.exit(pid, "x")
            down = await otp.receive()
            return isinstance(down, otp.Down) and down.ref == ref2

        assert otp.run(main) is True

    def test_flush_drops_a_down_already_queued(self) -> None:
        async def main() -> list[object]:
            _pid, ref = otp.spawn_monitor(returns)
            otp.send(otp.self(), "before")
            await wait_idle()  # the Down is queued now
            otp.send(otp.self(), "after")
            otp.demonitor(ref, flush=True)
            return [await otp.receive(timeout=0) for _ in range(2)]

        assert otp.run(main) == ["before", "after"]

    def test_flush_drops_an_immediate_noproc_down(self) -> None:
        async def main() -> list[object]:
            ref = otp.monitor("nobody")
            otp.send(otp.self(), "kept")
            otp.demonitor(ref, flush=True)
            return [await otp.receive(timeout=0)]

        assert otp.run(main) == ["kept"]

    def test_returns_whether_the_monitor_was_active(self) -> None:
        async def main() -> tuple[bool, bool]:
            _pid, ref = otp.spawn_monitor(returns)
            await otp.receive()
            live = otp.monitor(otp.spawn(forever))
            return otp.demonitor(ref), otp.demonitor(live)

        assert otp.run(main) == (False, True)

    def test_without_flush_a_queued_down_stays(self) -> None:
        async def main() -> bool:
            pid, ref = otp.spawn_monitor(returns)
            await wait_idle()
            otp.demonitor(ref)
            return await otp.receive(timeout=0) == otp.Down(ref, pid, "normal")

        assert otp.run(main) is True

    def test_demonitor_removes_the_watcher_from_the_target(self) -> None:
        async def main() -> object:
            pid = otp.spawn(forever)
            ref = otp.monitor(pid)
            otp.demonitor(ref)
            return info(otp.self())["monitors"]

        assert otp.run(main) == []


class TestTrapExit:
    def test_returns_the_previous_flag(self) -> None:
        async def main() -> list[bool]:
            return [otp.trap_exit(True), otp.trap_exit(True), otp.trap_exit(False)]

        assert otp.run(main) == [False, True, True]

    def test_a_trapping_process_receives_exit_signals_as_messages(self) -> None:
        async def main() -> bool:
            otp.trap_exit(True)
            child = otp.spawn_link(crash)
            exited = await otp.receive()
            assert isinstance(exited, otp.Exited) and exited.pid is child
            assert isinstance(exited.reason, ValueError)
            me = otp.self()
            otp.exit(me, "from myself")
            otp.exit(me, "normal")
            rest = [await otp.receive(timeout=0), await otp.receive(timeout=0)]
            return rest == [otp.Exited(me, "from myself"), otp.Exited(me, "normal")]

        assert otp.run(main) is True

    def test_a_trapping_process_receives_normal_exits_of_linked_processes(self) -> None:
        async def main() -> bool:
            otp.trap_exit(True)
            child = otp.spawn_link(returns)
            return await otp.receive() == otp.Exited(child, "normal")

        assert otp.run(main) is True

    def test_kill_cannot_be_trapped(self) -> None:
        async def trapper(parent: otp.Pid) -> None:
            otp.trap_exit(True)
            otp.send(parent, "trapping")
            await forever()

        async def main() -> object:
            pid, ref = otp.spawn_monitor(trapper, otp.self())
            await otp.receive(match=lambda m: m == "trapping")
            otp.exit(pid, "kill")
            return await down_of(pid, ref)

        assert otp.run(main) == "killed"


class TestExit:
    def test_normal_is_ignored_by_a_process_that_does_not_trap(self) -> None:
        async def main() -> bool:
            pid = otp.spawn(forever)
            otp.exit(pid, "normal")
            await wait_idle()
            return otp.is_alive(pid)

        assert otp.run(main) is True

    def test_normal_from_a_plain_task_is_ignored_too(self) -> None:
        async def main() -> bool:
            async with otp.Node():
                pid = otp.spawn(forever)
                otp.exit(pid, "normal")
                await wait_idle()
                return otp.is_alive(pid)

        assert asyncio.run(main()) is True

    def test_a_plain_task_can_kill_a_process(self) -> None:
        async def main() -> bool:
            async with otp.Node():
                pid = otp.spawn(forever)
                otp.exit(pid, "kill")
                return otp.is_alive(pid)

        assert asyncio.run(main()) is False

    def test_any_other_reason_kills_a_process_that_does_not_trap(self) -> None:
        async def main() -> list[object]:
            reasons = []
            for reason in ["shutdown", ("shutdown", "why"), "custom", ValueError("x")]:
                pid, ref = otp.spawn_monitor(forever)
                otp.exit(pid, reason)
                reasons.append(await down_of(pid, ref))
            return reasons

        reasons = otp.run(main)
        assert reasons[:3] == ["shutdown", ("shutdown", "why"), "custom"]
        assert isinstance(reasons[3], ValueError)

    def test_kill_ends_the_target_with_killed(self) -> None:
        async def main() -> object:
            pid, ref = otp.spawn_monitor(forever)
            otp.exit(pid, "kill")
            return await down_of(pid, ref)

        assert otp.run(main) == "killed"

    def test_killed_propagates_through_links_as_killed(self) -> None:
        async def middle(parent: otp.Pid) -> None:
            otp.spawn_link(forever)
            otp.send(parent, otp.self())
            await forever()

        async def main() -> tuple[object, object]:
            mid, mid_ref = otp.spawn_monitor(middle, otp.self())
            leaf = otp.processes()[-1]
            leaf_ref = otp.monitor(leaf)
            await otp.receive(match=lambda m: m is mid)
            otp.exit(mid, "kill")
            return await down_of(mid, mid_ref), await down_of(leaf, leaf_ref)

        assert otp.run(main) == ("killed", "killed")

    def test_a_linked_trapping_process_sees_killed_not_kill(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            child = otp.spawn_link(forever)
            otp.exit(child, "kill")
            return await otp.receive()

        exited = otp.run(main)
        assert isinstance(exited, otp.Exited) and exited.reason == "killed"

    def test_a_process_exiting_with_kill_sends_a_trappable_kill_through_links(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            otp.spawn_link(exit_with, "kill")
            return await otp.receive()

        exited = otp.run(main)
        assert isinstance(exited, otp.Exited) and exited.reason == "kill"

    def test_exit_to_self_ends_the_caller_with_the_reason(self) -> None:
        async def me() -> None:
            otp.exit(otp.self(), "bye")
            raise AssertionError("unreachable")

        async def main() -> object:
            pid, ref = otp.spawn_monitor(me)
            return await down_of(pid, ref)

        assert otp.run(main) == "bye"

    def test_exit_normal_to_self_ends_the_caller_normally(self) -> None:
        async def me() -> None:
            otp.exit(otp.self(), "normal")
            raise AssertionError("unreachable")

        async def main() -> object:
            pid, ref = otp.spawn_monitor(me)
            return await down_of(pid, ref)

        assert otp.run(main) == "normal"

    def test_kill_to_self_ends_the_caller_with_killed_even_when_trapping(self) -> None:
        async def me() -> None:
            otp.trap_exit(True)
            otp.exit(otp.self(), "kill")
            await otp.receive()

        async def main() -> object:
            pid, ref = otp.spawn_monitor(me)
            return await down_of(pid, ref)

        assert otp.run(main) == "killed"

    def test_raise_exit_ends_the_process_with_its_reason(self) -> None:
        async def main() -> object:
            pid, ref = otp.spawn_monitor(exit_with, ("shutdown", 42))
            return await down_of(pid, ref)

        assert otp.run(main) == ("shutdown", 42)

    def test_exit_to_a_dead_process_does_nothing(self) -> None:
        async def main() -> None:
            pid, ref = otp.spawn_monitor(returns)
            await down_of(pid, ref)
            otp.exit(pid, "kill")

        otp.run(main)

    def test_a_signal_that_arrives_while_running_wins_over_a_normal_return(self) -> None:
        # The child kills a linked sibling, whose death signals the child
        # back; the child then returns without awaiting. Erlang delivers the
        # signal first, so the child dies with "killed", not "normal".
        async def child() -> None:
            sibling = otp.spawn_link(forever)
            otp.exit(sibling, "kill")

        async def main() -> object:
            pid, ref = otp.spawn_monitor(child)
            return await down_of(pid, ref)

        assert otp.run(main) == "killed"

    def test_exit_needs_a_pid(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="exit needs a Pid"):
                otp.exit("name", "x")  # type: ignore[arg-type]

        otp.run(main)

    def test_a_crash_kills_through_a_chain_of_links(self, clock: VirtualClock) -> None:
        async def link_chain(depth: int) -> None:
            if depth:
                otp.spawn_link(link_chain, depth - 1)
                await forever()
            await asyncio.sleep(1)
            raise ValueError("deep")

        async def main() -> tuple[object, int]:
            pid, ref = otp.spawn_monitor(link_chain, 5)
            reason = await down_of(pid, ref)
            return reason, len(otp.processes())

        reason, alive = clock.run(main)
        assert isinstance(reason, ValueError) and alive == 1
        assert clock.time() == 1.0
