"""Starting processes and looking at them: spawn*, self, processes, process_info."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

import otp
from otp._runtime._process import Process
from otp.testing import VirtualClock, wait_idle


async def forever() -> None:
    await otp.receive(match=lambda m: False)


async def returns(value: object = None) -> object:
    return value


async def report_self(parent: otp.Pid) -> None:
    otp.send(parent, otp.self())


def info(pid: otp.Pid) -> dict[str, object]:
    result = otp.process_info(pid)
    assert result is not None
    return result


class TestSelf:
    def test_is_the_pid_spawn_returned(self) -> None:
        async def main() -> bool:
            pid = otp.spawn(report_self, otp.self())
            return await otp.receive() is pid

        assert otp.run(main) is True

    def test_outside_a_process_raises_not_in_process(self) -> None:
        async def main() -> None:
            async with otp.Node():
                with pytest.raises(otp.NotInProcess, match=r"otp\.spawn"):
                    otp.self()

        asyncio.run(main())

    def test_without_any_node_raises_not_in_process(self) -> None:
        with pytest.raises(otp.NotInProcess):
            otp.self()


class TestSpawn:
    def test_runs_the_function_with_its_arguments(self) -> None:
        async def add(parent: otp.Pid, a: int, b: int) -> None:
            otp.send(parent, a + b)

        async def main() -> object:
            otp.spawn(add, otp.self(), 2, 3)
            return await otp.receive()

        assert otp.run(main) == 5

    def test_pids_are_unique_and_ordered_by_creation(self) -> None:
        async def main() -> bool:
            pids = [otp.spawn(forever) for _ in range(5)]
            return len(set(pids)) == 5 and sorted(pids) == pids

        assert otp.run(main) is True

    def test_an_unlinked_crash_does_not_affect_the_parent(self) -> None:
        async def crash() -> None:
            raise RuntimeError("alone")

        async def main() -> bool:
            pid = otp.spawn(crash)
            ref = otp.monitor(pid)
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            return otp.is_alive(otp.self()) and ref is not None

        assert otp.run(main) is True

    def test_something_not_callable_raises_type_error(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match=r"needs an async def function .*; got 42 \(int\)"):
                otp.spawn(42)  # type: ignore[call-overload]

        otp.run(main)

    def test_a_plain_def_raises_at_once_saying_to_make_it_async(self) -> None:
        def plain() -> None:
            raise AssertionError("never called")

        async def main() -> int:
            before = len(otp.processes())
            for start in (otp.spawn, otp.spawn_link, otp.spawn_monitor):
                with pytest.raises(TypeError) as info:
                    start(plain)  # type: ignore[arg-type]
                assert str(info.value) == (
                    "spawn needs an async def function to run as the process; got "
                    "<function TestSpawn.test_a_plain_def_raises_at_once_saying_to_make_it_async"
                    ".<locals>.plain> (a plain def: make it `async def`)"
                )
            return len(otp.processes()) - before

        assert otp.run(main) == 0

    def test_a_lambda_raises_saying_to_pass_the_function_and_its_arguments(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match=r"a lambda cannot be async: pass the async def"):
                otp.spawn(lambda: returns(1))

        otp.run(main)

    def test_a_coroutine_raises_saying_to_pass_the_function_and_its_arguments(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match=r"not otp.spawn\(work\(arg\)\)"):
                otp.spawn(returns(1))  # type: ignore[call-overload]

        otp.run(main)  # and no "never awaited" warning (warnings are errors here)

    def test_an_async_generator_function_raises(self) -> None:
        async def ticks() -> AsyncIterator[int]:
            yield 1

        async def main() -> None:
            with pytest.raises(TypeError, match="an async generator"):
                otp.spawn(ticks)  # type: ignore[arg-type]

        otp.run(main)

    def test_a_callable_that_makes_no_coroutine_raises(self) -> None:
        async def main() -> None:
            for fn in (print, dict, functools.partial(print, "x")):
                with pytest.raises(TypeError, match="calling it does not make a coroutine"):
                    otp.spawn(fn)  # type: ignore[arg-type]

        otp.run(main)

    def test_partials_async_methods_async_call_and_wrapped_functions_are_accepted(
        self,
    ) -> None:
        class Worker:
            async def run(self, parent: otp.Pid, tag: str) -> None:
                otp.send(parent, tag)

            async def __call__(self, parent: otp.Pid, tag: str) -> None:
                otp.send(parent, tag)

        def traced(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def wrapper(*args: object) -> object:
                return fn(*args)

            return wrapper

        async def send_tag(parent: otp.Pid, tag: str) -> None:
            otp.send(parent, tag)

        async def main() -> list[object]:
            me = otp.self()
            otp.spawn(functools.partial(send_tag, me), "partial")
            otp.spawn(Worker().run, me, "method")
            otp.spawn(functools.partial(Worker().run, me), "partial of a method")
            otp.spawn(Worker(), me, "__call__")
            otp.spawn(traced(send_tag), me, "wrapped")
            return [await otp.receive() for _ in range(5)]

        assert otp.run(main) == [
            "partial",
            "method",
            "partial of a method",
            "__call__",
            "wrapped",
        ]

    def test_a_plain_task_can_spawn(self) -> None:
        async def main() -> bool:
            async with otp.Node():
                pid = otp.spawn(forever)
                return otp.is_alive(pid)

        assert asyncio.run(main()) is True

    def test_the_new_process_starts_with_an_empty_state(self) -> None:
        async def main() -> dict[str, object]:
            return info(otp.spawn(forever))

        got = otp.run(main)
        assert got["links"] == [] and got["monitors"] == [] and got["trap_exit"] is False
        assert got["registered_name"] is None and got["message_queue_len"] == 0


class TestSpawnLink:
    def test_links_parent_and_child(self) -> None:
        async def main() -> tuple[bool, bool]:
            child = otp.spawn_link(forever)
            return info(child)["links"] == [otp.self()], info(otp.self())["links"] == [child]

        assert otp.run(main) == (True, True)

    def test_a_child_that_dies_at_once_still_kills_the_parent(self) -> None:
        async def crash() -> None:
            raise ValueError("instant")

        async def parent() -> None:
            otp.spawn_link(crash)
            await forever()

        async def main() -> object:
            _pid, _ref = otp.spawn_monitor(parent)
            down = await otp.receive()
            assert isinstance(down, otp.Down)
            return down.reason

        reason = otp.run(main)
        assert isinstance(reason, ValueError)

    def test_outside_a_process_raises_not_in_process(self) -> None:
        async def main() -> None:
            async with otp.Node():
                with pytest.raises(otp.NotInProcess, match="spawn_link"):
                    otp.spawn_link(forever)

        asyncio.run(main())


class TestSpawnMonitor:
    def test_returns_the_pid_and_a_monitor_ref(self) -> None:
        async def main() -> bool:
            pid, ref = otp.spawn_monitor(returns, 1)
            return await otp.receive() == otp.Down(ref, pid, "normal")

        assert otp.run(main) is True

    def test_a_process_that_dies_at_once_still_delivers_its_down(self) -> None:
        async def crash() -> None:
            raise KeyError("k")

        async def main() -> object:
            _pid, ref = otp.spawn_monitor(crash)
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        assert isinstance(otp.run(main), KeyError)


class TestMakeRef:
    def test_refs_are_unique_and_equal_to_themselves(self) -> None:
        async def main() -> tuple[int, bool]:
            refs = [otp.make_ref() for _ in range(10)]
            return len(set(refs)), refs[0] == refs[0]

        assert otp.run(main) == (10, True)


class TestProcesses:
    def test_lists_live_processes_oldest_first(self) -> None:
        async def main() -> bool:
            a = otp.spawn(forever)
            b = otp.spawn(forever)
            return otp.processes() == [otp.self(), a, b]

        assert otp.run(main) is True

    def test_a_dead_process_is_not_listed(self) -> None:
        async def main() -> list[otp.Pid]:
            pid, _ref = otp.spawn_monitor(returns)
            await otp.receive()
            return [p for p in otp.processes() if p is pid]

        assert otp.run(main) == []


class TestIsAlive:
    def test_follows_the_process_lifetime(self) -> None:
        async def main() -> tuple[bool, bool]:
            pid, _ref = otp.spawn_monitor(forever)
            before = otp.is_alive(pid)
            otp.exit(pid, "kill")
            return before, otp.is_alive(pid)

        assert otp.run(main) == (True, False)

    def test_needs_a_pid(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="is_alive needs a Pid"):
                otp.is_alive("name")  # type: ignore[arg-type]

        otp.run(main)


class TestProcessInfo:
    def test_has_every_documented_key(self) -> None:
        async def main() -> set[str]:
            return set(info(otp.self()))

        assert otp.run(main) >= {
            "registered_name",
            "status",
            "message_queue_len",
            "links",
            "monitors",
            "trap_exit",
            "behaviour",
            "messages_handled",
        }

    def test_reflects_the_process_state(self) -> None:
        async def main() -> dict[str, object]:
            otp.register("me", otp.self())
            otp.trap_exit(True)
            child = otp.spawn_link(forever)
            watched = otp.spawn(forever)
            otp.monitor(watched)
            otp.send(otp.self(), "a")
            otp.send(otp.self(), "b")
            got = info(otp.self())
            assert got["links"] == [child] and got["monitors"] == [watched]
            return got

        got = otp.run(main)
        assert got["registered_name"] == "me"
        assert got["status"] == "running"
        assert got["message_queue_len"] == 2
        assert got["trap_exit"] is True
        assert got["behaviour"] is None

    def test_a_process_blocked_in_receive_is_waiting(self) -> None:
        async def main() -> tuple[object, object]:
            pid = otp.spawn(forever)
            await wait_idle()
            waiting = info(pid)["status"]
            otp.send(pid, "wake")
            return waiting, info(pid)["status"]

        assert otp.run(main) == ("waiting", "runnable")

    def test_a_process_blocked_on_something_else_is_waiting(self, clock: VirtualClock) -> None:
        async def sleeper() -> None:
            await asyncio.sleep(10)

        async def main() -> object:
            pid = otp.spawn(sleeper)
            await wait_idle()
            return info(pid)["status"]

        assert clock.run(main) == "waiting"

    def test_a_gen_server_names_its_class_and_counts_messages(self) -> None:
        class Echo(otp.GenServer):
            def init(self, arg: object) -> object:
                return arg

            def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                return otp.Reply(request, state)

        async def main() -> tuple[object, object]:
            pid = await Echo.start_link(None)
            assert pid is not None
            for i in range(3):
                await otp.call(pid, i)
            got = info(pid)
            return got["behaviour"], got["messages_handled"]

        behaviour, handled = otp.run(main)
        assert behaviour == "Echo" and handled == 3

    def test_a_dead_process_gives_none(self) -> None:
        async def main() -> object:
            pid, _ref = otp.spawn_monitor(returns)
            await otp.receive()
            return otp.process_info(pid)

        assert otp.run(main) is None


class TestProcessInfoItems:
    """`otp.process_info(pid, item)` and `(pid, [items])`, as Erlang's process_info/2."""

    def test_one_item_gives_just_its_value(self) -> None:
        async def main() -> object:
            pid = otp.spawn(forever)
            otp.send(pid, "a")
            otp.send(pid, "b")
            return otp.process_info(pid, "message_queue_len"), otp.process_info(pid, "trap_exit")

        assert otp.run(main) == (2, False)

    def test_a_list_gives_a_dict_of_just_those_keys(self) -> None:
        async def main() -> object:
            pid = otp.spawn(forever)
            otp.register("worker", pid)
            return otp.process_info(pid, ["registered_name", "messages_handled"])

        assert otp.run(main) == {"registered_name": "worker", "messages_handled": 0}

    def test_every_item_reads_as_in_the_full_snapshot(self) -> None:
        class Echo(otp.GenServer):
            def init(self, arg: object) -> object:
                return arg

            def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                return otp.Reply(request, state)

        async def main() -> tuple[object, object, object]:
            pid = await Echo.start_link(None)
            assert pid is not None
            await otp.call(pid, "ping")
            full = info(pid)
            one_by_one = {key: otp.process_info(pid, key) for key in full}
            return full, one_by_one, otp.process_info(pid, list(full))

        full, one_by_one, listed = otp.run(main)
        assert one_by_one == full and listed == full
        assert isinstance(full, dict) and full["status"] == "waiting"

    def test_an_item_is_read_without_the_others(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(self: object) -> None:
            raise AssertionError("current_function was computed")

        monkeypatch.setattr(Process, "current_function", refuse)

        async def main() -> object:
            pid = otp.spawn(forever)
            return otp.process_info(pid, ["status", "memory", "message_queue_len"])

        got = otp.run(main)
        assert isinstance(got, dict) and list(got) == ["status", "memory", "message_queue_len"]

    def test_an_unknown_item_says_which_are_known(self) -> None:
        async def main() -> None:
            pid = otp.spawn(forever)
            with pytest.raises(ValueError, match=r"unknown item 'heap_size'.*message_queue_len"):
                otp.process_info(pid, "heap_size")
            with pytest.raises(ValueError, match=r"unknown item 3.*registered_name"):
                otp.process_info(pid, ["status", 3])  # type: ignore[list-item]

        otp.run(main)

    def test_a_dead_process_gives_none_for_items_too(self) -> None:
        async def main() -> object:
            pid, _ref = otp.spawn_monitor(returns)
            await otp.receive()
            return otp.process_info(pid, "status"), otp.process_info(pid, ["status"])

        assert otp.run(main) == (None, None)
