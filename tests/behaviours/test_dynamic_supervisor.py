"""DynamicSupervisor: children on demand, known by pid."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

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
from otp.testing import VirtualClock


class Failing(otp.GenServer):
    def init(self, arg: object) -> object:
        raise ValueError("no")


async def pids(sup: otp.Pid) -> list[otp.Pid | None]:
    return [child.pid for child in await otp.DynamicSupervisor.which_children(sup)]


async def tagged(tag: str) -> tuple[object, ...]:
    msg = await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == tag)
    assert type(msg) is tuple
    return msg


class TestStartLink:
    def test_starts_empty_and_registers_its_name(self) -> None:
        async def main() -> tuple[bool, list[otp.Pid | None]]:
            sup = await otp.DynamicSupervisor.start_link(name="dyn")
            return otp.whereis("dyn") is sup, await pids(sup)

        assert run(main) == (True, [])

    @pytest.mark.parametrize(
        ("flags", "message"),
        [
            ({"strategy": "one_for_all"}, "one_for_one"),
            ({"max_restarts": -1}, "max_restarts"),
            ({"max_seconds": 0}, "max_seconds"),
            ({"max_children": -1}, "max_children"),
        ],
    )
    def test_invalid_flags_say_what_is_accepted(
        self, flags: dict[str, object], message: str
    ) -> None:
        async def main() -> None:
            await otp.DynamicSupervisor.start_link(**flags)  # type: ignore[call-overload]

        with pytest.raises(ValueError, match=message):
            run(main)

    def test_on_exit_every_child_is_shut_down(self) -> None:
        async def main() -> dict[object, object]:
            otp.trap_exit(True)
            sup = await otp.DynamicSupervisor.start_link()
            for n in range(3):
                await otp.DynamicSupervisor.start_child(sup, (Reporter, (n, otp.self())))
            await otp.stop(sup, "shutdown")
            downs = [await tagged("down") for _ in range(3)]
            return {d[1]: d[2] for d in downs}

        assert run(main) == {0: "shutdown", 1: "shutdown", 2: "shutdown"}


class TestStartChild:
    def test_returns_the_pid_of_a_running_child(self) -> None:
        async def main() -> tuple[object, bool]:
            sup = await otp.DynamicSupervisor.start_link()
            pid = await otp.DynamicSupervisor.start_child(sup, Worker.child_spec("hi"))
            assert pid is not None
            return await otp.call(pid, "get"), await pids(sup) == [pid]

        assert run(main) == ("hi", True)

    def test_accepts_a_class_or_a_tuple_and_ids_may_repeat(self) -> None:
        async def main() -> list[object]:
            sup = await otp.DynamicSupervisor.start_link()
            a = await otp.DynamicSupervisor.start_child(sup, Worker)
            b = await otp.DynamicSupervisor.start_child(sup, (Worker, 2))
            assert a is not None and b is not None
            return [await otp.call(a, "get"), await otp.call(b, "get"), len(await pids(sup))]

        assert run(main) == [None, 2, 2]

    def test_returns_none_when_the_child_ignores_and_keeps_nothing(self) -> None:
        async def main() -> tuple[object, list[otp.Pid | None]]:
            sup = await otp.DynamicSupervisor.start_link()
            return await otp.DynamicSupervisor.start_child(sup, Ignoring), await pids(sup)

        assert run(main) == (None, [])

    def test_a_failed_start_raises_start_error(self) -> None:
        async def main() -> tuple[object, list[otp.Pid | None]]:
            sup = await otp.DynamicSupervisor.start_link()
            with pytest.raises(otp.StartError) as info:
                await otp.DynamicSupervisor.start_child(sup, Failing)
            return info.value.reason, await pids(sup)

        reason, rows = run(main)
        assert isinstance(reason, ValueError) and rows == []

    def test_past_max_children_raises_max_children(self) -> None:
        async def main() -> tuple[bool, object, int]:
            sup = await otp.DynamicSupervisor.start_link(max_children=2)
            first = await otp.DynamicSupervisor.start_child(sup, Worker)
            await otp.DynamicSupervisor.start_child(sup, Worker)
            with pytest.raises(otp.MaxChildren) as info:
                await otp.DynamicSupervisor.start_child(sup, Worker)
            assert isinstance(info.value, otp.StartError)
            await otp.DynamicSupervisor.terminate_child(sup, first)  # type: ignore[arg-type]
            again = await otp.DynamicSupervisor.start_child(sup, Worker)
            return again is not None, info.value.reason, len(await pids(sup))

        assert run(main) == (True, "max_children", 2)

    def test_extra_arguments_come_first_positionally(self) -> None:
        async def start(pool: object, region: object, arg: object) -> otp.Pid | None:
            return await Worker.start_link((pool, region, arg))

        async def main() -> object:
            sup = await otp.DynamicSupervisor.start_link(extra_arguments=("pool", "eu"))
            spec = otp.ChildSpec("conn", lambda pool, region: start(pool, region, 7))
            pid = await otp.DynamicSupervisor.start_child(sup, spec)
            assert pid is not None
            return await otp.call(pid, "get")

        assert run(main) == ("pool", "eu", 7)

    def test_an_invalid_child_is_a_type_error(self) -> None:
        async def main() -> None:
            sup = await otp.DynamicSupervisor.start_link()
            await otp.DynamicSupervisor.start_child(sup, "worker")

        with pytest.raises(TypeError, match="ChildSpec"):
            run(main)


class TestTerminateChild:
    def test_stops_the_child_for_good(self) -> None:
        async def main() -> tuple[object, list[otp.Pid | None]]:
            sup = await otp.DynamicSupervisor.start_link()
            pid = await otp.DynamicSupervisor.start_child(sup, Worker)
            assert pid is not None
            ref = otp.monitor(pid)
            await otp.DynamicSupervisor.terminate_child(sup, pid)
            return await wait_down(ref), await pids(sup)

        assert run(main) == ("shutdown", [])

    def test_an_unknown_pid_is_a_key_error(self) -> None:
        async def main() -> None:
            sup = await otp.DynamicSupervisor.start_link()
            pid = await otp.DynamicSupervisor.start_child(sup, Worker)
            assert pid is not None
            await otp.DynamicSupervisor.terminate_child(sup, pid)
            await otp.DynamicSupervisor.terminate_child(sup, pid)

        with pytest.raises(KeyError, match="not a child"):
            run(main)

    def test_honours_the_shutdown_timeout(self, clock: VirtualClock) -> None:
        async def deaf() -> None:
            otp.trap_exit(True)
            while True:
                await otp.receive()

        async def start() -> otp.Pid:
            pid = otp.spawn_link(deaf)
            await asyncio.sleep(0)  # one loop turn: the child traps exits before it is stopped
            return pid

        async def main() -> tuple[object, float]:
            sup = await otp.DynamicSupervisor.start_link()
            pid = await otp.DynamicSupervisor.start_child(
                sup, otp.ChildSpec("d", start, shutdown=3)
            )
            assert pid is not None
            ref = otp.monitor(pid)
            await otp.DynamicSupervisor.terminate_child(sup, pid)
            return await wait_down(ref), clock.time()

        assert clock.run(main) == ("killed", 3.0)


class TestWhichAndCountChildren:
    def test_rows_have_no_id_and_counts_split_kinds(self) -> None:
        async def main() -> tuple[list[otp.Child], dict[str, int]]:
            sup = await otp.DynamicSupervisor.start_link()
            await otp.DynamicSupervisor.start_child(sup, Worker)
            await otp.DynamicSupervisor.start_child(sup, otp.DynamicSupervisor)
            rows = await otp.DynamicSupervisor.which_children(sup)
            return rows, await otp.DynamicSupervisor.count_children(sup)

        rows, counts = run(main)
        assert [(r.id, r.type, r.modules) for r in rows] == [
            (None, "worker", [Worker]),
            (None, "supervisor", [otp.DynamicSupervisor]),
        ]
        assert all(isinstance(r, otp.Child) and r.pid is not None for r in rows)
        assert counts == {"specs": 2, "active": 2, "supervisors": 1, "workers": 1}


class TestRestarts:
    @pytest.mark.parametrize(
        ("restart", "reason", "restarted"),
        [
            ("permanent", "normal", True),
            ("permanent", "boom", True),
            ("transient", "normal", False),
            ("transient", "shutdown", False),
            ("transient", "boom", True),
            ("temporary", "boom", False),
            ("temporary", "normal", False),
        ],
    )
    def test_restart_types(self, restart: str, reason: str, restarted: bool) -> None:
        async def main() -> list[bool]:
            sup = await otp.DynamicSupervisor.start_link()
            keep = await otp.DynamicSupervisor.start_child(sup, Worker.child_spec("keep"))
            old = await otp.DynamicSupervisor.start_child(
                sup,
                Worker.child_spec("x", restart=restart),
            )
            await exit_normally(old, reason)
            after = await pids(sup)
            return [after[0] is keep, len(after) == 2, old not in after]

        assert run(main) == [True, restarted, True]

    def test_a_restarted_child_gets_the_same_spec(self) -> None:
        async def main() -> object:
            sup = await otp.DynamicSupervisor.start_link()
            old = await otp.DynamicSupervisor.start_child(sup, (Worker, "same"))
            await stop_with(old, "kill")
            [new] = await pids(sup)
            assert new is not None and new is not old
            return await otp.call(new, "get")

        assert run(main) == "same"

    def test_past_the_intensity_it_stops_every_child_and_exits_with_shutdown(self) -> None:
        async def main() -> tuple[object, object]:
            otp.trap_exit(True)
            sup = await otp.DynamicSupervisor.start_link(max_restarts=2, max_seconds=5)
            by = await otp.DynamicSupervisor.start_child(sup, (Reporter, ("by", otp.self())))
            crasher = await otp.DynamicSupervisor.start_child(sup, Worker)
            ref = otp.monitor(sup)
            for _ in range(2):
                await stop_with(crasher, "boom")
                crasher = next(p for p in await pids(sup) if p is not by)
            await stop_with(crasher, "boom")  # the third restart in 5 s
            return await wait_down(ref), (await tagged("down"))[1:]

        assert run(main) == ("shutdown", ("by", "shutdown"))

    def test_restarts_spread_out_do_not_trip_the_intensity(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            sup = await otp.DynamicSupervisor.start_link(max_restarts=1, max_seconds=5)
            await otp.DynamicSupervisor.start_child(sup, Worker)
            for _ in range(5):
                [pid] = await pids(sup)
                await stop_with(pid, "boom")
                await advance(6)
            return otp.is_alive(sup) and len(await pids(sup)) == 1

        assert clock.run(main) is True

    def test_restarts_at_the_edge_of_the_window_count_as_in_otp(self, clock: VirtualClock) -> None:
        async def main() -> list[bool]:
            otp.trap_exit(True)
            sup = await otp.DynamicSupervisor.start_link(max_restarts=1, max_seconds=5)
            await otp.DynamicSupervisor.start_child(sup, Worker)
            alive = []
            # Restarts at 0, 5.25 (0 forgotten), 10.25 (5.25 is exactly 5 s ago,
            # which OTP still counts: two in the period).
            for wait in (0.0, 5.25, 5.0):
                await advance(wait)
                [pid] = await pids(sup)
                await stop_with(pid, "boom")
                try:
                    await pids(sup)  # handled after the exit: it gave up or restarted
                    alive.append(True)
                except otp.Exit as exc:
                    assert exc.reason == "shutdown"
                    alive.append(False)
            return alive

        assert clock.run(main) == [True, True, False]
        assert clock.time() == 10.25

    def test_a_thousand_restarts_spread_over_time_never_trip_it(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            sup = await otp.DynamicSupervisor.start_link(max_restarts=3, max_seconds=5)
            await otp.DynamicSupervisor.start_child(sup, Worker)
            for _ in range(1000):
                [pid] = await pids(sup)
                await stop_with(pid, "boom")
                await advance(2.0)
            return otp.is_alive(sup) and len(await pids(sup)) == 1

        assert clock.run(main) is True

    def test_a_restart_delay_waits_before_restarting(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[otp.Pid | None], float]:
            sup = await otp.DynamicSupervisor.start_link()
            spec = Reporter.child_spec(("r", otp.self()), restart_delay=1.5)
            pid = await otp.DynamicSupervisor.start_child(sup, spec)
            await tagged("up")
            await stop_with(pid, "kill")
            waiting = await pids(sup)
            await tagged("up")
            return waiting, clock.time()

        assert clock.run(main) == ([None], 1.5)

    def test_a_child_waiting_to_restart_counts_toward_max_children(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[dict[str, int], float]:
            sup = await otp.DynamicSupervisor.start_link(max_children=1)
            pid = await otp.DynamicSupervisor.start_child(
                sup, Worker.child_spec(0, restart_delay=4)
            )
            await stop_with(pid, "boom")
            with pytest.raises(otp.MaxChildren):
                await otp.DynamicSupervisor.start_child(sup, Worker)
            counts = await otp.DynamicSupervisor.count_children(sup)
            await advance(4)
            [new] = await pids(sup)
            assert new is not None and new is not pid
            return counts, clock.time()

        assert clock.run(main) == ({"specs": 1, "active": 0, "supervisors": 0, "workers": 1}, 4.0)

    def test_crashes_are_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> None:
            sup = await otp.DynamicSupervisor.start_link()
            pid = await otp.DynamicSupervisor.start_child(
                sup, Worker.child_spec(0, restart="temporary")
            )
            await stop_with(pid, "boom")
            await pids(sup)

        run(main)
        assert any(
            r.levelno >= logging.WARNING and "terminated with 'boom'" in r.getMessage()
            for r in caplog.records
        )


class TestUnderASupervisor:
    def test_a_dynamic_supervisor_is_a_child_with_its_options(self) -> None:
        async def main() -> tuple[list[tuple[object, str]], bool]:
            top = await otp.Supervisor.start_link(
                [(otp.DynamicSupervisor, {"name": "dyn", "max_children": 1})]
            )
            rows = await otp.Supervisor.which_children(top)
            await otp.DynamicSupervisor.start_child("dyn", Worker)
            with pytest.raises(otp.MaxChildren):
                await otp.DynamicSupervisor.start_child("dyn", Worker)
            return [(r.id, r.type) for r in rows], rows[0].pid is otp.whereis("dyn")

        assert run(main) == ([(otp.DynamicSupervisor, "supervisor")], True)


# -- module style ------------------------------------------------------------------


class Limited(otp.DynamicSupervisor):
    def init(self, arg: object) -> dict[str, object]:
        return {"max_children": arg, "extra_arguments": ["first"]}


class Echoes(otp.GenServer):
    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)


def echoes(*args: object) -> otp.ChildSpec:
    return otp.ChildSpec("echo", lambda *extra: Echoes.start_link((*extra, *args)))


class TestModuleStyle:
    def test_init_returns_the_options_and_start_link_takes_arg_and_name(self) -> None:
        async def main() -> tuple[bool, object]:
            sup = await Limited.start_link(1, name="limited")
            pid = await otp.DynamicSupervisor.start_child("limited", echoes("second"))
            assert pid is not None
            with pytest.raises(otp.MaxChildren):
                await otp.DynamicSupervisor.start_child("limited", echoes())
            return otp.whereis("limited") is sup, await otp.call(pid, "get")

        assert run(main) == (True, ("first", "second"))

    def test_an_empty_dict_takes_every_default(self) -> None:
        class Defaults(otp.DynamicSupervisor):
            def init(self, arg: object) -> dict[str, object]:
                return {}

        async def main() -> dict[str, int]:
            sup = await Defaults.start_link(None)
            assert sup is not None
            for _ in range(3):
                await otp.DynamicSupervisor.start_child(sup, Worker)
            return await otp.DynamicSupervisor.count_children(sup)

        assert run(main) == {"specs": 3, "active": 3, "supervisors": 0, "workers": 3}

    def test_init_may_be_async_and_runs_in_the_new_supervisor(self) -> None:
        class Async(otp.DynamicSupervisor):
            async def init(self, arg: object) -> dict[str, object]:  # type: ignore[override]
                assert isinstance(arg, otp.Pid)
                otp.send(arg, ("init in", otp.self()))
                return {"max_children": 0}

        async def main() -> bool:
            sup = await Async.start_link(otp.self())
            assert sup is not None
            msg = await tagged("init in")
            with pytest.raises(otp.MaxChildren):
                await otp.DynamicSupervisor.start_child(sup, Worker)
            return msg[1] is sup

        assert run(main) is True

    def test_init_returning_ignore_makes_start_link_return_none(self) -> None:
        class Off(otp.DynamicSupervisor):
            def init(self, arg: object) -> otp.Ignore:
                return otp.Ignore()

        async def main() -> tuple[object, object]:
            return await Off.start_link(None, name="off"), otp.whereis("off")

        assert run(main) == (None, None)

    def test_under_a_supervisor_child_spec_passes_arg_to_init(self) -> None:
        class Off(otp.DynamicSupervisor):
            def init(self, arg: object) -> dict[str, object] | otp.Ignore:
                return otp.Ignore() if arg == "off" else {"max_children": 1}

        async def main() -> list[tuple[object, bool]]:
            top = await otp.Supervisor.start_link(
                [Off.child_spec("off", id="a"), Off.child_spec("on", id="b", name="on")]
            )
            await otp.DynamicSupervisor.start_child("on", Worker)
            with pytest.raises(otp.MaxChildren):
                await otp.DynamicSupervisor.start_child("on", Worker)
            return [(c.id, c.pid is not None) for c in await otp.Supervisor.which_children(top)]

        assert run(main) == [("a", False), ("b", True)]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ([("max_children", 1)], r"must return its options as a dict"),
            ({"max_child": 1}, r"unknown options \['max_child'\]; the options are strategy, "),
            ({"max_restarts": -1}, "max_restarts must be an int >= 0"),
            ({"strategy": "one_for_all"}, "strategy .one_for_one. only"),
        ],
    )
    def test_bad_options_fail_the_start_saying_what_is_accepted(
        self, options: object, message: str
    ) -> None:
        class Bad(otp.DynamicSupervisor):
            def init(self, arg: object) -> dict[str, object]:
                return options  # type: ignore[return-value]

        async def main() -> None:
            await Bad.start_link(None)

        with pytest.raises(otp.StartError, match=message):
            run(main)

    def test_a_dynamic_supervisor_without_init_says_what_to_define(self) -> None:
        class Empty(otp.DynamicSupervisor):
            pass

        async def main() -> None:
            await Empty.start_link(None)

        with pytest.raises(otp.StartError, match=r"must define init\(self, arg\)"):
            run(main)

    def test_options_given_to_start_link_of_a_subclass_are_refused(self) -> None:
        async def main() -> None:
            await Limited.start_link(1, max_children=5)  # type: ignore[call-overload]

        with pytest.raises(TypeError, match="takes its options from its init"):
            run(main)

    def test_an_arg_given_to_dynamic_supervisor_itself_is_refused(self) -> None:
        async def main() -> None:
            await otp.DynamicSupervisor.start_link({"max_children": 1})

        with pytest.raises(TypeError, match="keyword options only"):
            run(main)


class TestStop:
    def test_stop_terminates_every_child_then_the_supervisor(self) -> None:
        async def main() -> tuple[list[object], object]:
            me = otp.self()
            sup = await otp.DynamicSupervisor.start_link()
            for name in ("a", "b"):
                spec = otp.ChildSpec(name, lambda n=name: Reporter.start_link((n, me)))
                await otp.DynamicSupervisor.start_child(sup, spec)
            otp.unlink(sup)
            ref = otp.monitor(sup)
            await otp.DynamicSupervisor.stop(sup, "shutdown", timeout=PATIENCE)
            downs = [
                await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == "down")
                for _ in range(2)
            ]
            return sorted(downs), await wait_down(ref)  # type: ignore[type-var]

        downs, reason = run(main)
        assert downs == [("down", "a", "shutdown"), ("down", "b", "shutdown")]
        assert reason == "shutdown"

    def test_stop_of_a_dead_supervisor_raises_noproc(self) -> None:
        async def main() -> None:
            sup = await otp.DynamicSupervisor.start_link()
            await otp.DynamicSupervisor.stop(sup)
            with pytest.raises(otp.NoProc):
                await otp.DynamicSupervisor.stop(sup)

        run(main)
