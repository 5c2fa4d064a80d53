"""Child specs, the children-list shorthands, and how a supervisor stops a child."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock


class Counter(otp.GenServer):
    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)


class SlowTerminate(otp.GenServer):
    """Traps exits; its terminate takes `arg` virtual seconds."""

    def init(self, arg: object) -> object:
        otp.trap_exit(True)
        return arg

    async def terminate(self, reason: object, state: object) -> None:
        assert isinstance(state, int | float)
        await asyncio.sleep(state)  # simulated cleanup work, on the virtual clock


async def _deaf(_: object = None) -> None:
    """A plain process that traps exits and ignores every message."""
    otp.trap_exit(True)
    while True:
        await otp.receive()


async def _start_deaf() -> otp.Pid:
    return otp.spawn_link(_deaf)


def _running(children: list[otp.Child]) -> dict[object, otp.Pid | None]:
    return {child.id: child.pid for child in children}


class TestChildSpec:
    def test_fields_are_named_as_the_constructor_arguments(self) -> None:
        async def start() -> None:
            return None

        spec = otp.ChildSpec("db", start, restart="transient", shutdown=2.0, significant=True)
        assert (spec.id, spec.start, spec.restart, spec.shutdown) == ("db", start, "transient", 2.0)
        assert (spec.type, spec.significant) == ("worker", True)

    def test_a_worker_waits_five_seconds_and_a_supervisor_forever_by_default(self) -> None:
        assert otp.ChildSpec("w", Counter.start_link).shutdown == 5.0
        assert otp.ChildSpec("s", Counter.start_link, type="supervisor").shutdown is None

    def test_shutdown_accepts_seconds_brutal_kill_and_none(self) -> None:
        for shutdown in (0, 1.5, "brutal_kill", None):
            assert otp.ChildSpec("w", Counter.start_link, shutdown=shutdown).shutdown == shutdown

    @pytest.mark.parametrize(
        ("field", "value", "accepted"),
        [
            ("restart", "sometimes", "permanent"),
            ("shutdown", -1, "brutal_kill"),
            ("shutdown", "never", "brutal_kill"),
            ("type", "manager", "supervisor"),
        ],
    )
    def test_an_invalid_field_names_what_is_accepted(
        self, field: str, value: object, accepted: str
    ) -> None:
        with pytest.raises(ValueError, match=accepted) as info:
            otp.ChildSpec("w", Counter.start_link, **{field: value})  # type: ignore[arg-type]
        assert repr(value) in str(info.value)

    def test_start_must_be_callable(self) -> None:
        with pytest.raises(TypeError, match="callable"):
            otp.ChildSpec("w", 42)  # type: ignore[arg-type]

    def test_a_significant_child_cannot_be_permanent(self) -> None:
        with pytest.raises(ValueError, match="transient"):
            otp.ChildSpec("w", Counter.start_link, significant=True)

    def test_replace_changes_some_fields_and_keeps_the_others(self) -> None:
        spec = Counter.child_spec(1)
        changed = spec.replace(id="c2", restart="temporary")
        assert (changed.id, changed.restart, changed.start) == ("c2", "temporary", spec.start)
        assert (spec.id, spec.restart) == (Counter, "permanent")

    def test_repr_shows_the_id_and_the_policies(self) -> None:
        assert repr(Counter.child_spec(1)) == (
            "ChildSpec(id=Counter, restart='permanent', shutdown=5.0, type='worker', "
            "significant=False)"
        )


class TestGenServerChildSpec:
    def test_the_id_defaults_to_the_class_and_start_calls_start_link_with_arg(self) -> None:
        async def main() -> object:
            spec = Counter.child_spec(41)
            assert spec.id is Counter and spec.modules == [Counter]
            started = spec.start()
            assert inspect.isawaitable(started)
            pid = await started
            assert isinstance(pid, otp.Pid)
            return await otp.call(pid, "get")

        assert otp.run(main) == 41

    def test_options_set_spec_fields_and_start_options(self) -> None:
        async def main() -> object:
            spec = Counter.child_spec(
                7, id="c", restart="transient", shutdown="brutal_kill", name="counter"
            )
            assert (spec.id, spec.restart, spec.shutdown) == ("c", "transient", "brutal_kill")
            started = spec.start()
            assert inspect.isawaitable(started)
            pid = await started
            return otp.whereis("counter") is pid

        assert otp.run(main) is True


class TestChildrenShorthands:
    def test_a_bare_class_starts_with_none_and_a_tuple_with_its_arg(self) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link([Counter, (SlowTerminate, 0)])
            [a, b] = await otp.Supervisor.which_children(sup)
            assert (a.id, b.id) == (Counter, SlowTerminate)
            assert a.pid is not None
            return [await otp.call(a.pid, "get")]

        assert otp.run(main) == [None]

    def test_a_tuple_passes_its_arg_to_start_link(self) -> None:
        async def main() -> object:
            sup = await otp.Supervisor.start_link([(Counter, 5)])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            return await otp.call(child.pid, "get")

        assert otp.run(main) == 5

    @pytest.mark.parametrize("child", [42, "Counter", (Counter,), (1, 2), Counter.init])
    def test_anything_else_is_a_type_error_naming_what_is_accepted(self, child: object) -> None:
        async def main() -> None:
            await otp.Supervisor.start_link([child])

        with pytest.raises(TypeError, match=r"GenServer .*subclass, a \(cls, arg\) tuple") as info:
            otp.run(main)
        assert repr(child) in str(info.value)

    def test_duplicate_ids_are_rejected(self) -> None:
        async def main() -> None:
            await otp.Supervisor.start_link([(Counter, 1), (Counter, 2)])

        with pytest.raises(ValueError, match="duplicate child id"):
            otp.run(main)


class TestShutdown:
    def test_seconds_kill_a_child_that_ignores_shutdown_after_exactly_that_long(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float]:
            spec = otp.ChildSpec("deaf", _start_deaf, shutdown=2.0)
            sup = await otp.Supervisor.start_link([spec])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            ref = otp.monitor(child.pid)
            await otp.Supervisor.terminate_child(sup, "deaf")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, clock.time()

        assert clock.run(main) == ("killed", 2.0)

    def test_seconds_return_as_soon_as_the_child_stops(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            spec = SlowTerminate.child_spec(1.0, shutdown=5.0)
            sup = await otp.Supervisor.start_link([spec])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            ref = otp.monitor(child.pid)
            await otp.Supervisor.terminate_child(sup, SlowTerminate)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, clock.time()

        assert clock.run(main) == ("shutdown", 1.0)

    def test_brutal_kill_kills_at_once(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            spec = SlowTerminate.child_spec(10.0, shutdown="brutal_kill")
            sup = await otp.Supervisor.start_link([spec])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            ref = otp.monitor(child.pid)
            await otp.Supervisor.terminate_child(sup, SlowTerminate)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, clock.time()

        assert clock.run(main) == ("killed", 0.0)

    def test_none_waits_for_the_child_however_long_it_takes(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            spec = SlowTerminate.child_spec(30.0, shutdown=None)
            sup = await otp.Supervisor.start_link([spec])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            ref = otp.monitor(child.pid)
            await otp.Supervisor.terminate_child(sup, SlowTerminate)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason, clock.time()

        assert clock.run(main) == ("shutdown", 30.0)

    def test_a_child_that_already_exited_is_not_signalled_again(self, clock: VirtualClock) -> None:
        async def main() -> dict[object, otp.Pid | None]:
            spec = Counter.child_spec(0, restart="temporary")
            sup = await otp.Supervisor.start_link([spec, (SlowTerminate, 0)])
            before = _running(await otp.Supervisor.which_children(sup))
            pid = before[Counter]
            assert pid is not None
            ref = otp.monitor(pid)
            await otp.stop(pid)
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return _running(await otp.Supervisor.which_children(sup))

        after = clock.run(main)
        assert list(after) == [SlowTerminate]


class Crashing(otp.GenServer):
    """Traps exits; its terminate raises, so it stops with another reason than asked."""

    def init(self, arg: object) -> object:
        otp.trap_exit(True)
        return arg

    def terminate(self, reason: object, state: object) -> None:
        raise RuntimeError("cleanup failed")


def _record_timers(loop: asyncio.AbstractEventLoop) -> list[float]:
    """Record the delay of every `loop.call_later` from now on."""
    delays: list[float] = []
    call_later = loop.call_later

    def recording(delay: float, *args: object, **kwargs: object) -> asyncio.TimerHandle:
        delays.append(delay)
        return call_later(delay, *args, **kwargs)  # type: ignore[arg-type]

    loop.call_later = recording  # type: ignore[method-assign]
    return delays


class TestStoppingATree:
    def test_children_that_die_inside_their_signal_are_not_waited_for(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> tuple[list[tuple[object, object]], list[float]]:
            specs = [
                Counter.child_spec(0, id="a"),
                SlowTerminate.child_spec(10.0, id="b", shutdown="brutal_kill"),
                Counter.child_spec(0, id="c", shutdown=5.0),
            ]
            sup = await otp.Supervisor.start_link(specs)
            pids = _running(await otp.Supervisor.which_children(sup))
            refs = {otp.monitor(pid): id_ for id_, pid in pids.items() if pid is not None}
            timers = _record_timers(asyncio.get_running_loop())
            await otp.stop(sup)
            downs = []
            for _ in refs:
                down = await otp.receive(match=lambda m: isinstance(m, otp.Down))
                assert isinstance(down, otp.Down)
                downs.append((refs[down.ref], down.reason))
            return downs, timers

        downs, timers = clock.run(main)
        # In reverse start order, each as its spec asked; no shutdown timer armed.
        assert downs == [("c", "shutdown"), ("b", "killed"), ("a", "shutdown")]
        assert timers == []
        assert clock.time() == 0.0
        assert "instead of shutting down cleanly" not in caplog.text

    def test_a_child_that_traps_exits_and_takes_its_time_gets_its_shutdown_timeout(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> list[tuple[object, object]]:
            specs = [otp.ChildSpec("deaf", _start_deaf, shutdown=2.0), Counter.child_spec(0)]
            sup = await otp.Supervisor.start_link(specs)
            pids = _running(await otp.Supervisor.which_children(sup))
            refs = {otp.monitor(pid): id_ for id_, pid in pids.items() if pid is not None}
            await otp.stop(sup)
            downs = []
            for _ in refs:
                down = await otp.receive(match=lambda m: isinstance(m, otp.Down))
                assert isinstance(down, otp.Down)
                downs.append((refs[down.ref], down.reason))
            return downs

        # Counter (started last) goes first; deaf is killed 2 s after its signal.
        assert clock.run(main) == [(Counter, "shutdown"), ("deaf", "killed")]
        assert clock.time() == 2.0
        assert "did not stop within 2.0 s of exit signal 'shutdown'" in caplog.text

    def test_a_child_that_stops_with_another_reason_is_reported(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            sup = await otp.Supervisor.start_link([Crashing.child_spec(None, id="c")])
            await otp.stop(sup)

        with caplog.at_level("WARNING", logger="otp"):
            clock.run(main)
        assert "child 'c'" in caplog.text
        assert "instead of shutting down cleanly" in caplog.text

    def test_a_dynamic_supervisor_waits_for_its_slow_children_together(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[str]:
            sup = await otp.DynamicSupervisor.start_link()
            slow = await otp.DynamicSupervisor.start_child(sup, SlowTerminate.child_spec(1.0))
            deaf = await otp.DynamicSupervisor.start_child(
                sup, otp.ChildSpec("deaf", _start_deaf_and_trap, shutdown=2.0)
            )
            quick = await otp.DynamicSupervisor.start_child(sup, Counter.child_spec(0))
            names = {slow: "slow", deaf: "deaf", quick: "quick"}
            refs = {otp.monitor(pid): name for pid, name in names.items() if pid is not None}
            await otp.stop(sup)
            downs = []
            for _ in refs:
                down = await otp.receive(match=lambda m: isinstance(m, otp.Down))
                assert isinstance(down, otp.Down)
                downs.append(refs[down.ref])
            return downs

        # All signalled at once: the wait is the longest shutdown, not their sum.
        assert clock.run(main) == ["quick", "slow", "deaf"]
        assert clock.time() == 2.0


async def _start_deaf_and_trap() -> otp.Pid:
    pid = otp.spawn_link(_deaf)
    await asyncio.sleep(0)  # one loop turn: the child traps exits before it can be stopped
    return pid
