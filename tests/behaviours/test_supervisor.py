"""Supervisor: start order, strategies, restart types, intensity, the child API, backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import pytest
from supervision_helpers import (
    PATIENCE,
    Ignoring,
    Reporter,
    Worker,
    advance,
    exit_normally,
    run,
    stop_with,
    wait_down,
)

import otp
from otp.testing import VirtualClock, wait_idle

# -- workers ---------------------------------------------------------------------


class Failing(otp.GenServer):
    def init(self, arg: object) -> object:
        raise ValueError(f"cannot start {arg!r}")


class CrashLoop(otp.GenServer):
    """Sends `("up", time)` to its arg from init, then crashes right away."""

    def init(self, arg: object) -> object:
        to, clock = cast(tuple[otp.Pid, VirtualClock], arg)
        otp.send(to, ("up", clock.time()))
        return otp.Ok(arg, continue_="crash")

    def handle_continue(self, arg: object, state: object) -> Any:
        raise RuntimeError("crash loop")


class Flaky(otp.GenServer):
    """Sends `("try", time)` to `to` from each init; starts or fails as `plan` (a list) says."""

    def init(self, arg: object) -> object:
        to, clock, plan = cast(tuple[otp.Pid, VirtualClock, list[bool]], arg)
        otp.send(to, ("try", clock.time()))
        if not plan.pop(0):
            raise RuntimeError("cannot start now")
        return arg


def reporter(name: str, **opts: object) -> otp.ChildSpec:
    return Reporter.child_spec((name, otp.self()), id=name, **opts)


def worker(name: str, **opts: object) -> otp.ChildSpec:
    return Worker.child_spec(name, id=name, **opts)


# -- helpers ---------------------------------------------------------------------


async def children(sup: otp.Pid) -> dict[object, otp.Pid | None]:
    return {child.id: child.pid for child in await otp.Supervisor.which_children(sup)}


async def messages(tag: str, count: int) -> list[tuple[object, ...]]:
    """The next `count` tuples tagged `tag`, in arrival order."""
    got: list[tuple[object, ...]] = []
    for _ in range(count):
        msg = await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == tag)
        assert type(msg) is tuple
        got.append(msg)
    return got


def names(msgs: list[tuple[object, ...]]) -> list[object]:
    return [m[1] for m in msgs]


# -- starting and stopping ----------------------------------------------------------


class TestStartLink:
    def test_children_start_in_order_and_each_sees_its_elder_siblings(self) -> None:
        class Sibling(otp.GenServer):
            def init(self, arg: object) -> object:
                return [otp.whereis(n) is not None for n in ("a", "b", "c")]

            def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                return otp.Reply(state, state)

        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link(
                [Sibling.child_spec(None, id=n, name=n) for n in ("a", "b", "c")]
            )
            assert list(await children(sup)) == ["a", "b", "c"]
            return [await otp.call(n, "seen") for n in ("a", "b", "c")]

        # A name is taken before init runs (as in OTP): each child sees itself too.
        assert run(main) == [
            [True, False, False],
            [True, True, False],
            [True, True, True],
        ]

    def test_a_failing_child_stops_the_started_ones_in_reverse_and_start_link_raises(
        self,
    ) -> None:
        async def main() -> tuple[object, list[tuple[object, ...]], bool]:
            specs = [reporter("a"), reporter("b"), Failing.child_spec("c", id="c"), reporter("d")]
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.start_link(specs)
            await messages("up", 2)
            downs = await messages("down", 2)
            return info.value.reason, downs, otp.is_alive(otp.self())

        reason, downs, caller_alive = run(main)
        assert type(reason) is tuple and reason[:1] == ("shutdown",)
        tag, id_, cause = reason[1]
        assert (tag, id_) == ("failed_to_start_child", "c")
        assert isinstance(cause, ValueError) and str(cause) == "cannot start 'c'"
        assert downs == [("down", "b", "shutdown"), ("down", "a", "shutdown")]
        assert caller_alive

    def test_a_child_whose_init_ignores_is_kept_with_no_pid(self) -> None:
        async def main() -> tuple[dict[object, otp.Pid | None], dict[str, int]]:
            sup = await otp.Supervisor.start_link([Ignoring, worker("w")])
            return await children(sup), await otp.Supervisor.count_children(sup)

        rows, counts = run(main)
        assert rows[Ignoring] is None and rows["w"] is not None
        assert counts == {"specs": 2, "active": 1, "supervisors": 0, "workers": 2}

    def test_an_ignored_temporary_child_is_dropped(self) -> None:
        async def main() -> dict[object, otp.Pid | None]:
            sup = await otp.Supervisor.start_link(
                [Ignoring.child_spec(None, restart="temporary"), worker("w")]
            )
            return await children(sup)

        assert list(run(main)) == ["w"]

    def test_children_stop_in_reverse_start_order_when_the_supervisor_exits(self) -> None:
        async def main() -> list[tuple[object, ...]]:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([reporter("a"), reporter("b"), reporter("c")])
            await otp.stop(sup, "shutdown")
            return await messages("down", 3)

        assert run(main) == [
            ("down", "c", "shutdown"),
            ("down", "b", "shutdown"),
            ("down", "a", "shutdown"),
        ]

    def test_the_supervisor_exits_when_its_parent_does_and_stops_its_children(self) -> None:
        async def parent(to: otp.Pid) -> None:
            sup = await otp.Supervisor.start_link([Reporter.child_spec(("a", to), id="a")])
            otp.send(to, ("sup", sup))

        async def main() -> tuple[object, object]:
            otp.spawn(parent, otp.self())
            [(_, sup)] = await messages("sup", 1)
            assert isinstance(sup, otp.Pid)
            ref = otp.monitor(sup)
            [down] = await messages("down", 1)
            return down, await wait_down(ref)

        assert run(main) == (("down", "a", "shutdown"), "normal")

    def test_a_name_registers_the_supervisor(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([worker("w")], name="top")
            assert otp.whereis("top") is sup
            with pytest.raises(otp.AlreadyStarted) as info:
                await otp.Supervisor.start_link([], name="top")
            return info.value.pid is sup

        assert run(main) is True

    def test_the_children_must_be_a_list(self) -> None:
        async def main() -> None:
            await otp.Supervisor.start_link(Worker)

        with pytest.raises(TypeError, match="list of children"):
            run(main)

    @pytest.mark.parametrize(
        ("flags", "message"),
        [
            ({"strategy": "simple_one_for_one"}, "DynamicSupervisor"),
            ({"max_restarts": -1}, "max_restarts"),
            ({"max_seconds": 0}, "max_seconds"),
            ({"auto_shutdown": "sometimes"}, "auto_shutdown"),
        ],
    )
    def test_invalid_flags_say_what_is_accepted(
        self, flags: dict[str, object], message: str
    ) -> None:
        async def main() -> None:
            await otp.Supervisor.start_link([], **flags)  # type: ignore[call-overload]

        with pytest.raises(ValueError, match=message):
            run(main)


# -- strategies --------------------------------------------------------------------


class TestStrategies:
    @pytest.mark.parametrize(
        ("strategy", "changed"),
        [
            ("one_for_one", ["b"]),
            ("one_for_all", ["a", "b", "c"]),
            ("rest_for_one", ["b", "c"]),
        ],
    )
    def test_which_children_are_restarted(self, strategy: str, changed: list[str]) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link(  # type: ignore[call-overload]
                [worker("a"), worker("b"), worker("c")],
                strategy=strategy,
            )
            before = await children(sup)
            await stop_with(before["b"], "boom")
            after = await children(sup)
            assert all(pid is not None and otp.is_alive(pid) for pid in after.values())
            return [id_ for id_ in before if before[id_] is not after[id_]]

        assert run(main) == changed

    def test_one_for_all_stops_the_others_in_reverse_then_starts_all_in_order(self) -> None:
        async def main() -> tuple[list[object], list[object]]:
            sup = await otp.Supervisor.start_link(
                [reporter("a"), reporter("b"), reporter("c")], strategy="one_for_all"
            )
            await messages("up", 3)
            await stop_with((await children(sup))["b"], "kill")
            await children(sup)
            return names(await messages("down", 2)), names(await messages("up", 3))

        # b was killed (no terminate): only c and a are told to shut down.
        downs, ups = run(main)
        assert downs == ["c", "a"] and ups == ["a", "b", "c"]

    def test_a_sibling_that_crashes_while_being_stopped_is_restarted_once(
        self, clock: VirtualClock
    ) -> None:
        class Slow(otp.GenServer):
            def init(self, arg: object) -> object:
                otp.trap_exit(True)
                return arg

            async def terminate(self, reason: object, state: object) -> None:
                await asyncio.sleep(2)  # simulated cleanup work, on the virtual clock

        async def main() -> tuple[list[bool], bool, float]:
            sup = await otp.Supervisor.start_link(
                [worker("a"), worker("b"), Slow.child_spec(None, id="slow")],
                strategy="one_for_all",
                max_restarts=1,
            )
            before = await children(sup)
            await stop_with(before["a"], "boom")
            await wait_idle()  # the supervisor now waits for slow to stop
            await stop_with(before["b"], "boom")
            after = await children(sup)
            changed = [after[k] is not before[k] and after[k] is not None for k in before]
            return changed, otp.is_alive(sup), clock.time()

        # one restart for both crashes: max_restarts=1 is not exceeded
        assert clock.run(main) == ([True, True, True], True, 2.0)

    def test_rest_for_one_stops_the_younger_siblings_in_reverse(self) -> None:
        async def main() -> tuple[list[object], list[object]]:
            sup = await otp.Supervisor.start_link(
                [reporter(n) for n in "abcd"], strategy="rest_for_one"
            )
            await messages("up", 4)
            await stop_with((await children(sup))["b"], "kill")
            await children(sup)
            return names(await messages("down", 2)), names(await messages("up", 3))

        assert run(main) == (["d", "c"], ["b", "c", "d"])


# -- restart types ----------------------------------------------------------------


class TestRestartTypes:
    @pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "done"), "boom"])
    def test_a_permanent_child_is_always_restarted(self, reason: object) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("w")])
            old = (await children(sup))["w"]
            await exit_normally(old, reason)
            new = (await children(sup))["w"]
            return new is not None and new is not old

        assert run(main) is True

    @pytest.mark.parametrize(
        ("reason", "restarted"),
        [("normal", False), ("shutdown", False), (("shutdown", "done"), False), ("boom", True)],
    )
    def test_a_transient_child_is_restarted_only_after_a_crash(
        self, reason: object, restarted: bool
    ) -> None:
        async def main() -> tuple[bool, list[object]]:
            sup = await otp.Supervisor.start_link([worker("w", restart="transient")])
            old = (await children(sup))["w"]
            await exit_normally(old, reason)
            after = await children(sup)
            return after["w"] is not None, list(after)

        assert run(main) == (restarted, ["w"])

    @pytest.mark.parametrize("reason", ["normal", "boom"])
    def test_a_temporary_child_is_never_restarted_and_leaves_the_list(self, reason: object) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link([worker("t", restart="temporary"), worker("w")])
            await exit_normally((await children(sup))["t"], reason)
            return list(await children(sup))

        assert run(main) == ["w"]

    def test_a_killed_child_is_a_crash(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("w", restart="transient")])
            await stop_with((await children(sup))["w"], "kill")
            return (await children(sup))["w"] is not None

        assert run(main) is True


# -- restart intensity -------------------------------------------------------------


class TestRestartIntensity:
    def test_more_than_max_restarts_in_the_window_stops_everything_with_shutdown(self) -> None:
        async def main() -> tuple[object, list[object]]:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link(
                [worker("a"), worker("b")], max_restarts=3, max_seconds=5
            )
            ref = otp.monitor(sup)
            for _ in range(3):
                await stop_with((await children(sup))["a"], "boom")
            last = await children(sup)
            watch = [otp.monitor(pid) for pid in last.values() if pid is not None]
            assert last["a"] is not None
            otp.exit(last["a"], "boom")
            reason = await wait_down(ref)
            exited = await otp.receive(PATIENCE, lambda m: isinstance(m, otp.Exited))
            assert exited == otp.Exited(sup, "shutdown")
            return reason, [await wait_down(r) for r in watch]

        # a had crashed (boom); b was shut down by the supervisor as it gave up.
        assert run(main) == ("shutdown", ["boom", "shutdown"])

    def test_max_restarts_zero_gives_up_on_the_first_crash(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=0)
            ref = otp.monitor(sup)
            await stop_with((await children(sup))["a"], "boom")
            return await wait_down(ref)

        assert run(main) == "shutdown"

    def test_restarts_spread_over_more_than_max_seconds_do_not_trip_it(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=2, max_seconds=5)
            for _ in range(10):  # any three restarts span 5.5 s
                await stop_with((await children(sup))["a"], "boom")
                await advance(2.75)
            return otp.is_alive(sup)

        assert clock.run(main) is True
        assert clock.time() == 27.5

    def test_restarts_older_than_the_window_are_forgotten(self, clock: VirtualClock) -> None:
        async def main() -> list[bool]:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=1, max_seconds=5)
            alive = []
            for wait in (0.0, 5.5, 4.0):  # restarts at 0, 5.5 (0 forgotten), 9.5 (two in 5 s)
                await advance(wait)
                await stop_with((await children(sup))["a"], "boom")
                try:
                    await children(sup)  # handled after the exit: it gave up or restarted
                    alive.append(True)
                except otp.Exit as exc:
                    assert exc.reason == "shutdown"
                    alive.append(False)
            return alive

        assert clock.run(main) == [True, True, False]

    def test_a_restart_exactly_max_seconds_after_another_still_counts_it(
        self, clock: VirtualClock
    ) -> None:
        # OTP's add_restart keeps each restart R >= Now - Period.
        async def main() -> object:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=1, max_seconds=5)
            ref = otp.monitor(sup)
            await stop_with((await children(sup))["a"], "boom")  # a restart at 0
            await advance(5.0)
            await stop_with((await children(sup))["a"], "boom")  # at 5: two in the period
            return await wait_down(ref)

        assert clock.run(main) == "shutdown"
        assert clock.time() == 5.0

    def test_a_restart_just_over_max_seconds_after_another_forgets_it(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=1, max_seconds=5)
            await stop_with((await children(sup))["a"], "boom")  # a restart at 0
            await advance(5.25)
            await stop_with((await children(sup))["a"], "boom")  # at 5.25: the one at 0 is gone
            await children(sup)  # handled after the exit
            return otp.is_alive(sup)

        assert clock.run(main) is True
        assert clock.time() == 5.25

    def test_a_restart_just_under_max_seconds_after_another_trips_it(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=1, max_seconds=5)
            ref = otp.monitor(sup)
            await stop_with((await children(sup))["a"], "boom")
            await advance(4.75)
            await stop_with((await children(sup))["a"], "boom")
            return await wait_down(ref)

        assert clock.run(main) == "shutdown"
        assert clock.time() == 4.75

    def test_a_thousand_restarts_spread_over_time_never_trip_it(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")], max_restarts=3, max_seconds=5)
            for _ in range(1000):
                await stop_with((await children(sup))["a"], "boom")
                await advance(2.0)
            return otp.is_alive(sup)

        assert clock.run(main) is True
        assert clock.time() == 2000.0

    def test_a_child_that_fails_to_restart_is_retried_until_the_intensity_is_reached(
        self,
    ) -> None:
        async def main() -> tuple[object, int]:
            otp.trap_exit(True)
            plan = [True, False, False, False, False, False]
            flaky = Flaky.child_spec((otp.self(), VirtualClock(), plan), id="f")
            sup = await otp.Supervisor.start_link([flaky], max_restarts=3)
            ref = otp.monitor(sup)
            await stop_with((await children(sup))["f"], "kill")
            return await wait_down(ref), len(plan)

        # one start, then three failed restarts; the fourth would exceed max_restarts
        assert run(main) == ("shutdown", 2)

    def test_a_nested_supervisor_that_gives_up_is_restarted_by_its_parent(self) -> None:
        async def main() -> tuple[object, bool, bool]:
            inner = otp.Supervisor.child_spec([worker("w")], id="inner", max_restarts=0)
            top = await otp.Supervisor.start_link([worker("a"), inner])
            before = await children(top)
            inner_pid = before["inner"]
            assert inner_pid is not None
            ref = otp.monitor(inner_pid)
            await stop_with((await children(inner_pid))["w"], "boom")
            reason = await wait_down(ref)
            after = await children(top)
            new_inner = after["inner"]
            assert new_inner is not None
            fresh = (await children(new_inner))["w"]
            return (
                reason,
                new_inner is not inner_pid,
                fresh is not None and after["a"] is before["a"],
            )

        assert run(main) == ("shutdown", True, True)

    def test_giving_up_propagates_up_a_tree_whose_parent_also_gives_up(self) -> None:
        async def main() -> tuple[object, object]:
            otp.trap_exit(True)
            inner = otp.Supervisor.child_spec([worker("w")], id="inner", max_restarts=0)
            top = await otp.Supervisor.start_link([inner], max_restarts=0)
            top_ref = otp.monitor(top)
            inner_pid = (await children(top))["inner"]
            assert inner_pid is not None
            inner_ref = otp.monitor(inner_pid)
            await stop_with((await children(inner_pid))["w"], "boom")
            return await wait_down(inner_ref), await wait_down(top_ref)

        assert run(main) == ("shutdown", "shutdown")


# -- auto_shutdown -----------------------------------------------------------------


class TestAutoShutdown:
    def test_any_significant_exits_when_a_significant_child_exits_normally(self) -> None:
        async def main() -> tuple[object, object]:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link(
                [worker("s", restart="transient", significant=True), reporter("other")],
                auto_shutdown="any_significant",
            )
            ref = otp.monitor(sup)
            await exit_normally((await children(sup))["s"])
            return await wait_down(ref), (await messages("down", 1))[0]

        assert run(main) == ("shutdown", ("down", "other", "shutdown"))

    def test_all_significant_waits_for_every_significant_child(self) -> None:
        async def main() -> tuple[bool, object]:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link(
                [
                    worker("s1", restart="temporary", significant=True),
                    worker("s2", restart="transient", significant=True),
                    worker("plain", restart="transient"),
                ],
                auto_shutdown="all_significant",
            )
            ref = otp.monitor(sup)
            await exit_normally((await children(sup))["plain"])
            await exit_normally((await children(sup))["s1"])
            still_up = list(await children(sup)) == ["s2", "plain"]
            await exit_normally((await children(sup))["s2"])
            return still_up, await wait_down(ref)

        assert run(main) == (True, "shutdown")

    def test_a_crashed_transient_significant_child_is_restarted_instead(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link(
                [worker("s", restart="transient", significant=True)],
                auto_shutdown="any_significant",
            )
            old = (await children(sup))["s"]
            await stop_with(old, "boom")
            new = (await children(sup))["s"]
            return new is not None and new is not old

        assert run(main) is True

    def test_never_ignores_significant_children(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link(
                [worker("s", restart="transient", significant=True)]
            )
            await exit_normally((await children(sup))["s"])
            await children(sup)
            return otp.is_alive(sup)

        assert run(main) is True


# -- the child API -----------------------------------------------------------------


class TestStrayCalls:
    def test_a_call_that_is_not_a_supervisor_function_crashes_it_clearly(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("a")])
            with pytest.raises(otp.Exit) as info:
                await otp.call(sup, "hello")
            return info.value.reason

        reason = run(main)
        assert isinstance(reason, TypeError) and "only answers" in str(reason)


class TestWhichChildren:
    def test_rows_are_child_tuples_in_start_order(self) -> None:
        async def main() -> list[otp.Child]:
            inner = otp.Supervisor.child_spec([], id="inner")
            sup = await otp.Supervisor.start_link([worker("w"), inner])
            return await otp.Supervisor.which_children(sup)

        w, inner = run(main)
        assert isinstance(w, otp.Child)
        assert (w.id, w.type, w.modules) == ("w", "worker", [Worker])
        assert (inner.id, inner.type, inner.modules) == ("inner", "supervisor", [otp.Supervisor])

    def test_count_children_counts_specs_running_and_kinds(self) -> None:
        async def main() -> dict[str, int]:
            inner = otp.Supervisor.child_spec([], id="inner")
            sup = await otp.Supervisor.start_link([worker("a"), worker("b"), inner])
            await otp.Supervisor.terminate_child(sup, "b")
            return await otp.Supervisor.count_children(sup)

        assert run(main) == {"specs": 3, "active": 2, "supervisors": 1, "workers": 2}


class TestStartChild:
    def test_adds_the_child_at_the_end_and_returns_its_pid(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")])
            pid = await otp.Supervisor.start_child(sup, worker("b"))
            rows = await children(sup)
            return list(rows) == ["a", "b"] and rows["b"] is pid and pid is not None

        assert run(main) is True

    def test_accepts_a_class_or_a_tuple(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([])
            pid = await otp.Supervisor.start_child(sup, (Worker, 3))
            assert pid is not None
            return await otp.call(pid, "get")

        assert run(main) == 3

    def test_returns_none_when_the_child_ignores(self) -> None:
        async def main() -> tuple[object, dict[object, otp.Pid | None]]:
            sup = await otp.Supervisor.start_link([])
            return await otp.Supervisor.start_child(sup, Ignoring), await children(sup)

        assert run(main) == (None, {Ignoring: None})

    def test_a_failed_start_raises_start_error_with_the_childs_reason(self) -> None:
        async def main() -> tuple[object, list[object]]:
            sup = await otp.Supervisor.start_link([])
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.start_child(sup, (Failing, 1))
            return info.value.reason, list(await children(sup))

        reason, rows = run(main)
        assert isinstance(reason, ValueError) and rows == []

    def test_a_running_id_is_already_started(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")])
            pid = (await children(sup))["a"]
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.start_child(sup, worker("a"))
            return info.value.reason == ("already_started", pid)

        assert run(main) is True

    def test_a_stopped_id_is_already_present(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([worker("a")])
            await otp.Supervisor.terminate_child(sup, "a")
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.start_child(sup, worker("a"))
            return info.value.reason

        assert run(main) == "already_present"

    def test_an_invalid_child_is_a_type_error_in_the_caller(self) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([])
            await otp.Supervisor.start_child(sup, 42)

        with pytest.raises(TypeError, match=r"otp\.ChildSpec; got 42"):
            run(main)

    def test_a_started_child_is_supervised(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([])
            old = await otp.Supervisor.start_child(sup, worker("a"))
            await stop_with(old, "boom")
            new = (await children(sup))["a"]
            return new is not None and new is not old

        assert run(main) is True


class TestTerminateChild:
    def test_stops_the_child_keeps_its_spec_and_does_not_restart_it(self) -> None:
        async def main() -> tuple[object, dict[object, otp.Pid | None]]:
            sup = await otp.Supervisor.start_link([worker("a"), worker("b")])
            pid = (await children(sup))["a"]
            assert pid is not None
            ref = otp.monitor(pid)
            await otp.Supervisor.terminate_child(sup, "a")
            return await wait_down(ref), await children(sup)

        reason, rows = run(main)
        assert reason == "shutdown" and rows["a"] is None and rows["b"] is not None

    def test_a_temporary_child_is_removed(self) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link([worker("t", restart="temporary")])
            await otp.Supervisor.terminate_child(sup, "t")
            return list(await children(sup))

        assert run(main) == []

    def test_an_unknown_id_is_a_key_error(self) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([])
            await otp.Supervisor.terminate_child(sup, "nope")

        with pytest.raises(KeyError, match="nope"):
            run(main)

    def test_a_stopped_child_can_be_terminated_again(self) -> None:
        async def main() -> dict[object, otp.Pid | None]:
            sup = await otp.Supervisor.start_link([worker("a")])
            await otp.Supervisor.terminate_child(sup, "a")
            await otp.Supervisor.terminate_child(sup, "a")
            return await children(sup)

        assert run(main) == {"a": None}


class TestRestartChild:
    def test_starts_a_terminated_child_again(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([worker("a")])
            old = (await children(sup))["a"]
            await otp.Supervisor.terminate_child(sup, "a")
            new = await otp.Supervisor.restart_child(sup, "a")
            return new is not None and new is not old and (await children(sup))["a"] is new

        assert run(main) is True

    def test_a_running_child_is_an_error(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([worker("a")])
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.restart_child(sup, "a")
            return info.value.reason

        assert run(main) == "running"

    def test_an_unknown_id_is_a_key_error(self) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([])
            await otp.Supervisor.restart_child(sup, "nope")

        with pytest.raises(KeyError):
            run(main)


class TestDeleteChild:
    def test_removes_a_stopped_child(self) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link([worker("a"), worker("b")])
            await otp.Supervisor.terminate_child(sup, "a")
            await otp.Supervisor.delete_child(sup, "a")
            return list(await children(sup))

        assert run(main) == ["b"]

    def test_a_running_child_is_an_error(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([worker("a")])
            with pytest.raises(otp.StartError) as info:
                await otp.Supervisor.delete_child(sup, "a")
            return info.value.reason

        assert run(main) == "running"

    def test_an_unknown_id_is_a_key_error(self) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([])
            await otp.Supervisor.delete_child(sup, "nope")

        with pytest.raises(KeyError):
            run(main)


# -- module style and trees --------------------------------------------------------


class Pair(otp.Supervisor):
    def init(self, arg: object) -> otp.SupervisorSpec:
        return otp.SupervisorSpec(
            [worker("x"), Worker.child_spec(arg, id="y")], strategy="one_for_all"
        )


class AsyncPair(otp.Supervisor):
    async def init(self, arg: object) -> otp.SupervisorSpec:  # type: ignore[override]
        return otp.SupervisorSpec([Worker.child_spec(arg, id="y")])


class TestModuleStyle:
    def test_init_returns_the_spec_and_start_link_takes_arg_and_name(self) -> None:
        async def main() -> tuple[object, list[object]]:
            sup = await Pair.start_link("hello", name="pair")
            assert otp.whereis("pair") is sup
            rows = await children(sup)
            assert rows["y"] is not None
            return await otp.call(rows["y"], "get"), list(rows)

        assert run(main) == ("hello", ["x", "y"])

    def test_the_spec_flags_apply(self) -> None:
        async def main() -> bool:
            sup = await Pair.start_link(None)
            assert sup is not None
            before = await children(sup)
            await stop_with(before["y"], "boom")
            after = await children(sup)
            return all(after[k] is not before[k] for k in before)

        assert run(main) is True

    def test_init_may_be_async(self) -> None:
        async def main() -> object:
            sup = await AsyncPair.start_link(5)
            assert sup is not None
            pid = (await children(sup))["y"]
            assert pid is not None
            return await otp.call(pid, "get")

        assert run(main) == 5

    def test_init_returning_anything_else_fails_the_start(self) -> None:
        class Bad(otp.Supervisor):
            def init(self, arg: object) -> otp.SupervisorSpec:
                return [Worker]  # type: ignore[return-value]

        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await Bad.start_link(None)
            return info.value.reason

        reason = run(main)
        assert type(reason) is tuple and reason[0] == "bad_return"

    def test_init_returning_ignore_makes_start_link_return_none(self) -> None:
        class Off(otp.Supervisor):
            def init(self, arg: object) -> otp.Ignore:
                return otp.Ignore()

        async def main() -> tuple[object, object, int]:
            before = len(otp.processes())
            pid = await Off.start_link(None, name="off")
            return pid, otp.whereis("off"), len(otp.processes()) - before

        assert run(main) == (None, None, 0)

    def test_an_ignoring_supervisor_child_is_kept_with_no_pid(self) -> None:
        class Off(otp.Supervisor):
            async def init(self, arg: object) -> otp.Ignore:  # type: ignore[override]
                return otp.Ignore()

        async def main() -> tuple[dict[object, otp.Pid | None], dict[str, int]]:
            top = await otp.Supervisor.start_link([Off, worker("w")])
            return await children(top), await otp.Supervisor.count_children(top)

        rows, counts = run(main)
        assert list(rows) == [Off, "w"]
        assert rows[Off] is None and rows["w"] is not None
        assert counts == {"specs": 2, "active": 1, "supervisors": 1, "workers": 1}

    def test_a_supervisor_without_init_says_what_to_define(self) -> None:
        class Empty(otp.Supervisor):
            pass

        async def main() -> None:
            await Empty.start_link(None)

        with pytest.raises(otp.StartError, match="init"):
            run(main)

    def test_trees_nest_through_the_shorthands(self) -> None:
        class Top(otp.Supervisor):
            def init(self, arg: object) -> otp.SupervisorSpec:
                return otp.SupervisorSpec([(Pair, "deep"), worker("z")])

        async def main() -> tuple[list[otp.Child], object]:
            top = await Top.start_link(None)
            assert top is not None
            rows = await otp.Supervisor.which_children(top)
            pair = rows[0].pid
            assert pair is not None
            y = (await children(pair))["y"]
            assert y is not None
            return rows, await otp.call(y, "get")

        rows, value = run(main)
        assert [(r.id, r.type) for r in rows] == [(Pair, "supervisor"), ("z", "worker")]
        assert value == "deep"

    def test_child_spec_takes_spec_fields_and_start_options(self) -> None:
        async def main() -> bool:
            spec = Pair.child_spec(None, id="p", restart="transient", name="p")
            assert (spec.id, spec.restart, spec.type, spec.shutdown) == (
                "p",
                "transient",
                "supervisor",
                None,
            )
            top = await otp.Supervisor.start_link([spec])
            return (await children(top))["p"] is otp.whereis("p")

        assert run(main) is True


# -- restart_delay -------------------------------------------------------------------


class TestRestartDelay:
    def test_a_fixed_delay_restarts_the_child_exactly_that_much_later(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float]:
            sup = await otp.Supervisor.start_link([reporter("a", restart_delay=2.0)])
            [(_, _, pid)] = await messages("up", 1)
            assert isinstance(pid, otp.Pid)
            await stop_with(pid, "kill")
            waiting = (await children(sup))["a"]
            [(_, _, new)] = await messages("up", 1)
            assert (await children(sup))["a"] is new
            return waiting, clock.time()

        assert clock.run(main) == (None, 2.0)

    def test_the_supervisor_flag_applies_to_every_child(self, clock: VirtualClock) -> None:
        async def main() -> float:
            sup = await otp.Supervisor.start_link([reporter("a")], restart_delay=0.5)
            await messages("up", 1)
            await stop_with((await children(sup))["a"], "kill")
            await messages("up", 1)
            return clock.time()

        assert clock.run(main) == 0.5

    def test_consecutive_crashes_double_the_delay_up_to_the_cap(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            spec = CrashLoop.child_spec((otp.self(), clock), id="loop")
            await otp.Supervisor.start_link(
                [spec],
                restart_delay=otp.Supervisor.backoff(1.0, 4.0),
                max_restarts=100,
                max_seconds=5,
            )
            return [t for _, t in await messages("up", 6)]

        # restarts after 1, 2, 4, 4, 4 s
        assert clock.run(main) == [0.0, 1.0, 3.0, 7.0, 11.0, 15.0]

    def test_the_backoff_resets_once_a_child_stayed_up_for_max_seconds(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[float]:
            sup = await otp.Supervisor.start_link(
                [reporter("a")], restart_delay=otp.Supervisor.backoff(1.0, 8.0), max_seconds=5
            )
            ups = []
            for stay_up in (0.0, 0.0, 6.0):
                await messages("up", 1)
                ups.append(clock.time())
                await advance(stay_up)
                await stop_with((await children(sup))["a"], "kill")
            await messages("up", 1)
            ups.append(clock.time())
            return ups

        # crashes at 0 (+1 s) and 1 (+2 s); then up for 6 s: back to +1 s
        assert clock.run(main) == [0.0, 1.0, 3.0, 10.0]

    def test_a_delay_longer_than_the_intensity_allows_retries_forever(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[list[object], bool]:
            spec = CrashLoop.child_spec((otp.self(), clock), id="loop", restart_delay=2.0)
            sup = await otp.Supervisor.start_link([spec], max_restarts=3, max_seconds=5)
            ups = [t for _, t in await messages("up", 20)]
            return ups, otp.is_alive(sup)

        ups, alive = clock.run(main)
        assert ups == [2.0 * i for i in range(20)] and alive

    def test_a_shorter_delay_still_trips_the_intensity(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], object, float]:
            otp.trap_exit(True)
            spec = CrashLoop.child_spec((otp.self(), clock), id="loop", restart_delay=1.0)
            sup = await otp.Supervisor.start_link([spec], max_restarts=3, max_seconds=5)
            ref = otp.monitor(sup)
            reason = await wait_down(ref)
            ups = []
            while True:
                try:
                    msg = await otp.receive(timeout=0)
                except TimeoutError:
                    break
                if type(msg) is tuple and msg[0] == "up":
                    ups.append(msg[1])
            return ups, reason, clock.time()

        # restarts at 1, 2, 3 fit in 3-per-5 s; the one due at 4 is the fourth in the window
        assert clock.run(main) == ([0.0, 1.0, 2.0, 3.0], "shutdown", 4.0)

    def test_a_failed_restart_is_retried_after_the_next_delay(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], bool]:
            flaky = Flaky.child_spec((otp.self(), clock, [True, False, False, True]), id="f")
            sup = await otp.Supervisor.start_link(
                [flaky], restart_delay=otp.Supervisor.backoff(1.0, 10.0), max_restarts=5
            )
            await stop_with((await children(sup))["f"], "kill")
            tries = [t for _, t in await messages("try", 4)]
            return tries, (await children(sup))["f"] is not None

        assert clock.run(main) == ([0.0, 1.0, 3.0, 7.0], True)

    def test_a_child_delay_of_zero_overrides_the_supervisor_delay(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[bool, float]:
            sup = await otp.Supervisor.start_link(
                [worker("a", restart_delay=0.0)], restart_delay=5.0
            )
            await stop_with((await children(sup))["a"], "kill")
            return (await children(sup))["a"] is not None, clock.time()

        assert clock.run(main) == (True, 0.0)

    def test_terminate_child_cancels_a_pending_restart(self, clock: VirtualClock) -> None:
        async def main() -> dict[object, otp.Pid | None]:
            sup = await otp.Supervisor.start_link([worker("a", restart_delay=1.0)])
            await stop_with((await children(sup))["a"], "kill")
            await otp.Supervisor.terminate_child(sup, "a")
            await advance(5)
            return await children(sup)

        assert clock.run(main) == {"a": None}

    def test_restart_child_during_the_delay_starts_it_once(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool]:
            sup = await otp.Supervisor.start_link([worker("a", restart_delay=1.0)])
            await stop_with((await children(sup))["a"], "kill")
            pid = await otp.Supervisor.restart_child(sup, "a")
            await advance(5)
            return (await children(sup))["a"] is pid, pid is not None

        assert clock.run(main) == (True, True)


# -- reports -----------------------------------------------------------------------


class TestReports:
    def test_starts_exits_restarts_and_giving_up_are_logged_on_otp(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="otp")

        async def main() -> None:
            otp.trap_exit(True)
            sup = await otp.Supervisor.start_link([worker("alpha")], max_restarts=1, name="top")
            ref = otp.monitor(sup)
            await stop_with((await children(sup))["alpha"], "boom")
            await stop_with((await children(sup))["alpha"], "bang")
            await wait_down(ref)

        run(main)
        text = [r.getMessage() for r in caplog.records if r.name == "otp"]

        def has(*words: str) -> Callable[[str], bool]:
            return lambda line: all(w in line for w in words)

        assert any(map(has("'top'", "started child 'alpha'"), text))
        assert any(map(has("child 'alpha' terminated with 'boom'"), text))
        assert any(map(has("restarted child 'alpha'"), text))
        assert any(map(has("child 'alpha' terminated with 'bang'"), text))
        assert any(map(has("maximum restart intensity", "shuts down"), text))
        levels = {r.getMessage(): r.levelno for r in caplog.records}
        assert max(levels[line] for line in text if "intensity" in line) == logging.ERROR

    def test_a_failed_child_start_is_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> None:
            with pytest.raises(otp.StartError):
                await otp.Supervisor.start_link([Failing.child_spec(1, id="f")])

        run(main)
        assert any("failed to start child 'f'" in r.getMessage() for r in caplog.records)


class TestHowItIsNamed:
    def test_process_info_and_reports_call_it_a_supervisor(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([])
            dyn = await otp.DynamicSupervisor.start_link()
            reg = await otp.Registry.start_link(keys="unique", name="names")
            return [otp.process_info(p)["behaviour"] for p in (sup, dyn, reg)]  # type: ignore[index]

        assert clock.run(main) == ["Supervisor", "DynamicSupervisor", "Registry"]


class TestStop:
    def test_stop_terminates_the_children_in_reverse_order_then_the_supervisor(self) -> None:
        async def main() -> tuple[list[object], object]:
            me = otp.self()
            sup = await otp.Supervisor.start_link(
                [
                    otp.ChildSpec("a", lambda: Reporter.start_link(("a", me))),
                    otp.ChildSpec("b", lambda: Reporter.start_link(("b", me))),
                ]
            )
            otp.unlink(sup)
            ref = otp.monitor(sup)
            await otp.Supervisor.stop(sup, "shutdown")
            downs = [
                await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == "down")
                for _ in range(2)
            ]
            return downs, await wait_down(ref)

        downs, reason = run(main)
        assert downs == [("down", "b", "shutdown"), ("down", "a", "shutdown")]
        assert reason == "shutdown"

    def test_stop_of_a_dead_supervisor_raises_noproc(self) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([])
            await otp.Supervisor.stop(sup)
            with pytest.raises(otp.NoProc):
                await otp.Supervisor.stop(sup)

        run(main)
