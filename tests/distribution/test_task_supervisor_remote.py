"""Elixir's `{start_task, ...}` request to a TaskSupervisor, sent from another Python node.

The other node (a subprocess) runs `otp.TaskSupervisor.start_link(name="sup")`
and one with `max_children=0` named "full"; this node plays Elixir's
`Task.Supervisor`: it calls the supervisor with the request Elixir 1.14
sends, then sends the task its `{Owner, Ref, ReplyTo, Callers, MFA}`. The
Elixir side of the same exchange is in `test_interop_task_supervisor.py`.
"""

from __future__ import annotations

import os
from typing import Any

from erlang_nodes import COOKIE, GUARD, unique
from node_helpers import SERVE, python_node

import otp
from otp import Atom

HERE = os.path.dirname(os.path.abspath(__file__))
START_TASK, MONITOR, OK = Atom("start_task"), Atom("monitor"), Atom("ok")

OTHER = f"""
import asyncio, sys
sys.path.insert(0, {HERE!r})
import otp

async def main():
    await otp.TaskSupervisor.start_link(name="sup")
    await otp.TaskSupervisor.start_link(name="full", max_children=0)
{SERVE}

otp.run(main, node=sys.argv[1], cookie=sys.argv[2], rpc="*")
"""


def with_other_node(main: Any) -> Any:
    other = unique("other") + "@127.0.0.1"

    async def run() -> object:
        async with python_node(OTHER, other, COOKIE):
            return await main(other)

    return otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE)


def owner(pid: otp.Pid) -> tuple[object, ...]:
    """Elixir's owner triple: `{Node, NameOrPid, Pid}`."""
    return (Atom(otp.node()), pid, pid)


async def start_task(other: str, args: list[object], sup: str = "sup") -> Any:
    return await otp.call((sup, other), (START_TASK, args, None, None), GUARD)


async def down_of(ref: otp.Ref) -> object:
    down = await otp.receive(GUARD, match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down)
    return down.reason


async def run_awaited(other: str, function: str, args: list[object]) -> tuple[object, object]:
    """Start a task as `Task.Supervisor.async_nolink` does: its reply (or None) and its exit."""
    status, pid = await start_task(other, [owner(otp.self()), MONITOR])
    assert status == OK and isinstance(pid, otp.Pid)
    ref = otp.monitor(pid)
    mfa = (Atom("spawn_targets"), Atom(function), args)
    otp.send(pid, (otp.self(), ref, otp.self(), [otp.self()], mfa))
    reason = await down_of(ref)
    try:  # the reply, sent before the exit, is queued already if there is one
        reply = await otp.receive(0, match=lambda m: type(m) is tuple and m[0] == ref)
    except TimeoutError:
        return None, reason
    assert isinstance(reply, tuple)
    return reply[1], reason


class TestAwaitedTasks:
    def test_the_task_sends_ref_and_result_then_exits_normal(self) -> None:
        async def main(other: str) -> object:
            return [
                await run_awaited(other, "add", [1, 2]),
                await run_awaited(other, "add_later", [3, 4]),
            ]

        assert with_other_node(main) == [(3, "normal"), (7, "normal")]

    def test_a_python_exception_is_the_exit_reason_with_its_stack(self) -> None:
        async def main(other: str) -> object:
            reply, reason = await run_awaited(other, "fail", ["bad"])
            assert isinstance(reason, tuple) and isinstance(reason[1], list) and reason[1]
            return reply, reason[0]

        assert with_other_node(main) == (None, ("python", "ValueError", "bad"))

    def test_a_result_with_no_erlang_form_exits_saying_so(self) -> None:
        async def main(other: str) -> object:
            reply, reason = await run_awaited(other, "unsendable", [])
            assert isinstance(reason, tuple)
            return reply, reason[0][:2]

        assert with_other_node(main) == (None, ("python", "TypeError"))

    def test_the_owner_s_death_before_its_message_ends_the_task_with_shutdown(self) -> None:
        async def main(other: str) -> object:
            first = otp.spawn(otp.receive)
            status, pid = await start_task(other, [owner(first), MONITOR])
            ref = otp.monitor(pid)
            otp.exit(first, "kill")
            reason = await down_of(ref)
            assert isinstance(reason, tuple)
            # The task monitors its owner once it runs, which may be after the
            # owner was killed: Elixir's task then exits {shutdown, noproc} too.
            return status, reason[0], reason[1] in ("killed", "noproc")

        assert with_other_node(main) == (OK, "shutdown", True)


class TestStartChild:
    def test_the_task_runs_at_once_for_nobody(self) -> None:
        async def main(other: str) -> object:
            mfa = (Atom("spawn_targets"), Atom("report"), [otp.self(), "hi"])
            status, pid = await start_task(other, [owner(otp.self()), [], mfa])
            report: Any = await otp.receive(GUARD)
            _, what, sender = report
            return status, what, sender == pid

        assert with_other_node(main) == (OK, "hi", True)


class TestRefusals:
    def test_a_full_supervisor_answers_max_children(self) -> None:
        async def main(other: str) -> object:
            return await start_task(other, [owner(otp.self()), MONITOR], sup="full")

        assert with_other_node(main) == ("error", "max_children")

    def test_a_malformed_request_is_answered_badarg_and_the_supervisor_lives_on(self) -> None:
        async def main(other: str) -> object:
            answer = await start_task(other, ["not an owner", MONITOR])
            assert isinstance(answer, tuple)
            status, _ = await start_task(other, [owner(otp.self()), MONITOR])
            return answer[0], answer[1][0], status

        assert with_other_node(main) == ("error", "badarg", OK)
