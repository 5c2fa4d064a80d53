"""Tasks on other nodes: `Task.async_(..., node=)` and `Task.async_stream(..., nodes=)`.

A second (and third) Python node runs in a subprocess and imports
`spawn_targets` from this folder, as in `test_spawn`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import spawn_targets
from erlang_nodes import COOKIE, GUARD, unique
from node_helpers import python_node
from test_spawn import OTHER

import otp


def other_node() -> str:
    return unique("other") + "@127.0.0.1"


def with_nodes(main: Callable[..., Awaitable[Any]], count: int = 1, rpc: str = "*") -> Any:
    """Run `main(proc, name, ...)` with `count` other nodes: each subprocess and name."""
    names = [other_node() for _ in range(count)]

    async def run() -> object:
        procs = []
        async with python_node(OTHER, names[0], COOKIE, rpc) as first:
            procs.append(first)
            if count == 1:
                return await main(*procs, *names)
            async with python_node(OTHER, names[1], COOKIE, rpc) as second:
                procs.append(second)
                return await main(*procs, *names)

    return otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE)


def queued() -> int:
    info = otp.process_info(otp.self())
    assert info is not None
    n = info["message_queue_len"]
    assert isinstance(n, int)
    return n


async def next_message(kind: type) -> Any:
    return await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, kind))


class TestAsyncOnANode:
    def test_the_task_runs_there_and_its_result_comes_back(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.add, 1, 2, node=other)
            value = await task
            return value, task.pid.node == other, queued()

        assert with_nodes(main) == (3, True, 0)

    def test_an_async_function_is_awaited_there_and_yield_returns_ok(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.add_later, 5, 2, node=other)
            return await otp.Task.yield_(task, timeout=GUARD), queued()

        assert with_nodes(main) == (("ok", 7), 0)

    def test_the_result_also_arrives_as_a_message_tagged_with_the_ref(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.add, 2, 2, node=other)
            msg = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, tuple))
            down = await next_message(otp.Down)
            return msg == (task.ref, 4), down.ref == task.ref, down.reason

        assert with_nodes(main) == (True, True, "normal")

    def test_a_crash_there_reaches_a_trapping_owner_as_an_exit(self) -> None:
        async def main(_: object, other: str) -> object:
            otp.trap_exit(True)
            task = otp.Task.async_(spawn_targets.fail, "bad", node=other)
            outcome = await otp.Task.yield_(task, timeout=GUARD)
            exited = await next_message(otp.Exited)
            return outcome, exited.pid == task.pid, exited.reason

        outcome, same, reason = with_nodes(main)
        assert outcome[0] == "exit" and isinstance(outcome[1], ValueError)
        assert same and isinstance(reason, ValueError) and str(reason) == "bad"

    def test_a_crash_there_takes_the_owner_down_with_the_same_reason(self) -> None:
        async def owner(other: str) -> None:
            await otp.Task.async_(spawn_targets.fail, "boom", node=other)

        async def main(_: object, other: str) -> object:
            _, ref = otp.spawn_monitor(owner, other)
            down = await next_message(otp.Down)
            return down.ref == ref, down.reason

        same, reason = with_nodes(main)
        assert same and isinstance(reason, ValueError) and str(reason) == "boom"

    def test_shutdown_stops_it_there(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.wait_forever, node=other)
            pid = await task.pid_known()
            ref = otp.monitor(pid)
            stopped = await otp.Task.shutdown(task)
            down = await next_message(otp.Down)
            return stopped, down.ref == ref, down.reason in ("shutdown", "noproc"), queued()

        assert with_nodes(main) == (None, True, True, 0)

    def test_await_past_its_timeout_kills_it_and_leaves_no_message(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.wait_forever, node=other)
            pid = await task.pid_known()
            ref = otp.monitor(pid)
            with pytest.raises(TimeoutError, match="was killed"):
                await otp.Task.await_(task, timeout=0.05)
            down = await next_message(otp.Down)
            return down.ref == ref, down.reason in ("killed", "noproc"), queued()

        assert with_nodes(main) == (True, True, 0)

    def test_a_task_let_go_before_the_other_node_answered_is_killed_there(self) -> None:
        async def main(_: object, other: str) -> object:
            otp.trap_exit(True)
            task = otp.Task.async_(spawn_targets.wait_forever, node=other)
            with pytest.raises(TimeoutError):
                await otp.Task.await_(task, timeout=0)
            pid = await task.pid_known()
            ref = otp.monitor(pid)
            down = await next_message(otp.Down)
            # The exit signal of the killed task does not reach its (former) owner.
            return down.ref == ref, down.reason in ("killed", "noproc"), queued()

        assert with_nodes(main) == (True, True, 0)

    def test_losing_the_node_ends_the_task_with_noconnection(self) -> None:
        async def main(proc: Any, other: str) -> object:
            otp.trap_exit(True)
            task = otp.Task.async_(spawn_targets.wait_forever, node=other)
            pid = await task.pid_known()
            proc.kill()
            outcome = await otp.Task.yield_(task, timeout=GUARD)
            exited = await next_message(otp.Exited)
            return outcome, exited == otp.Exited(pid, "noconnection"), queued()

        assert with_nodes(main) == (("exit", "noconnection"), True, 0)

    def test_a_node_that_cannot_be_reached_gives_noconnection(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            task = otp.Task.async_(spawn_targets.add, 1, 1, node=unique("nobody") + "@127.0.0.1")
            outcome = await otp.Task.yield_(task, timeout=GUARD)
            exited = await next_message(otp.Exited)
            return outcome, exited.reason, exited.pid == task.pid

        result = otp.run(main, node=unique("py") + "@127.0.0.1", cookie=COOKIE)
        assert result == (("exit", "noconnection"), "noconnection", True)

    def test_a_lambda_cannot_travel_and_says_what_to_pass(self) -> None:
        async def main(_: object, other: str) -> object:
            with pytest.raises(TypeError, match="module level"):
                otp.Task.async_(lambda: 1, node=other)
            return queued()

        assert with_nodes(main) == 0

    def test_the_other_nodes_rpc_list_applies_to_the_function(self) -> None:
        async def main(_: object, other: str) -> object:
            otp.trap_exit(True)
            allowed = await otp.Task.yield_(
                otp.Task.async_(spawn_targets.add, 1, 2, node=other), timeout=GUARD
            )
            refused = await otp.Task.yield_(
                otp.Task.async_(json.dumps, [1], node=other), timeout=GUARD
            )
            pickled = await otp.Task.yield_(
                otp.Task.async_(functools.partial(spawn_targets.add, 1), 2, node=other),
                timeout=GUARD,
            )
            return allowed, refused, pickled

        allowed, refused, pickled = with_nodes(main, rpc="spawn_targets")
        assert allowed == ("ok", 3)
        # An error's exit reason, as Erlang's: {Reason, Stack}.
        assert refused[0] == "exit"
        assert refused[1][0] == ("rpc_not_allowed", "json", ["spawn_targets"])
        assert pickled[0] == "exit"
        assert pickled[1][0] == ("rpc_not_allowed", "pickle", ["spawn_targets"])

    def test_this_nodes_own_name_runs_the_task_here(self) -> None:
        async def main() -> object:
            task = otp.Task.async_(spawn_targets.whoami, node=otp.node())
            return await task == otp.node(), task.pid.node == otp.node()

        assert otp.run(main, node=unique("py") + "@127.0.0.1", cookie=COOKIE) == (True, True)


class TestAsyncStreamOverNodes:
    def test_chunks_spread_over_the_nodes_and_outcomes_stay_in_order(self) -> None:
        async def main(_: object, __: object, a: str, b: str) -> object:
            stream = otp.Task.async_stream(
                spawn_targets.whoami_of, range(20), nodes=[a, b], chunk_size=3
            )
            outcomes = [outcome async for outcome in stream]
            return outcomes, {a, b}, queued()

        outcomes, names, left = with_nodes(main, count=2)
        assert [value[0] for _, value in outcomes] == list(range(20))
        assert {value[1] for _, value in outcomes} == names
        assert left == 0

    def test_unordered_outcomes_are_each_items_once(self) -> None:
        async def main(_: object, other: str) -> object:
            stream = otp.Task.async_stream(
                spawn_targets.whoami_of,
                range(7),
                nodes=[other, otp.node()],
                ordered=False,
                chunk_size=2,
            )
            return sorted([value[0] async for _, value in stream if isinstance(value, tuple)])

        assert with_nodes(main) == list(range(7))

    def test_a_crashing_item_yields_its_exit_and_the_rest_of_its_chunk_runs(self) -> None:
        async def main(_: object, other: str) -> object:
            otp.trap_exit(True)
            items = ["a", "bad", "c", "d"]
            stream = otp.Task.async_stream(
                spawn_targets.fail_on, items, nodes=[other], chunk_size=4
            )
            outcomes = [outcome async for outcome in stream]
            exited = await next_message(otp.Exited)
            return outcomes, exited.reason

        outcomes, reason = with_nodes(main)
        assert outcomes[0] == ("ok", "a") and outcomes[2:] == [("ok", "c"), ("ok", "d")]
        assert outcomes[1][0] == "exit" and isinstance(outcomes[1][1], ValueError)
        assert isinstance(reason, ValueError)

    def test_a_late_chunk_is_killed_and_each_of_its_items_yields_timeout(self) -> None:
        async def main(_: object, other: str) -> object:
            stream = otp.Task.async_stream(
                spawn_targets.wait_forever_on,
                ["x", "y"],
                nodes=[other],
                chunk_size=2,
                timeout=0.05,
                on_timeout="kill_task",
            )
            return [outcome async for outcome in stream], queued()

        assert with_nodes(main) == ([("exit", "timeout"), ("exit", "timeout")], 0)

    def test_losing_a_node_ends_its_chunks_with_noconnection(self) -> None:
        async def kill_when_running(proc: Any) -> None:
            await otp.receive()  # the first item runs there
            proc.kill()

        async def main(proc: Any, other: str) -> object:
            otp.trap_exit(True)
            otp.register("killer", otp.spawn(kill_when_running, proc))
            report = functools.partial(spawn_targets.report_and_wait, ("killer", otp.node()))
            stream = otp.Task.async_stream(
                report, range(4), nodes=[other], chunk_size=2, timeout=None
            )
            return [outcome async for outcome in stream]

        assert with_nodes(main) == [("exit", "noconnection")] * 4

    def test_nodes_and_chunk_size_are_checked(self) -> None:
        with pytest.raises(TypeError, match="list of node names"):
            otp.Task.async_stream(len, [], nodes="a@h")
        with pytest.raises(ValueError, match="chunk_size must be a positive int"):
            otp.Task.async_stream(len, [], chunk_size=0)


class TestManyOnANode:
    def test_await_many_mixes_local_and_remote_tasks(self) -> None:
        async def main(_: object, other: str) -> object:
            tasks = [
                otp.Task.async_(spawn_targets.add, 1, 2, node=other),
                otp.Task.async_(spawn_targets.add, 3, 4),
                otp.Task.async_(spawn_targets.add_later, 5, 6, node=other),
            ]
            return await otp.Task.await_many(tasks, timeout=GUARD), queued()

        assert with_nodes(main) == ([3, 7, 11], 0)

    def test_yield_many_kill_task_kills_a_late_remote_task(self) -> None:
        async def main(_: object, other: str) -> object:
            late = otp.Task.async_(spawn_targets.wait_forever, node=other)
            pid = await late.pid_known()
            ref = otp.monitor(pid)
            tasks: list[otp.Task[Any]] = [
                otp.Task.async_(spawn_targets.add, 1, 1, node=other),
                late,
            ]
            pairs = await otp.Task.yield_many(
                tasks,
                timeout=0.5,
                on_timeout="kill_task",
            )
            down = await next_message(otp.Down)
            return [o for _, o in pairs], down.ref == ref, down.reason, queued()

        assert with_nodes(main) == ([("ok", 2), None], True, "killed", 0)

    def test_an_ignored_remote_task_runs_on_and_sends_nothing_back(self) -> None:
        async def main(_: object, other: str) -> object:
            task = otp.Task.async_(spawn_targets.wait_then_crash, node=other)
            pid = await task.pid_known()
            ignored = otp.Task.ignore(task)
            ref = otp.monitor(pid)
            otp.send(pid, "crash now")
            down = await next_message(otp.Down)
            # Only our own monitor's Down came: no reply, no Down of the task's monitor.
            return ignored, down.ref == ref, isinstance(down.reason, RuntimeError), queued()

        assert with_nodes(main) == (None, True, True, 0)
