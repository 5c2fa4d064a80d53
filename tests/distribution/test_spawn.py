"""Remote spawn: spawn requests from a peer, ours to it, and spawns between Python nodes.

The wire tests run a connection over the scripted transport of
`test_connection` on the virtual clock; the Python-to-Python tests start a
second node in a subprocess, which imports `spawn_targets` from this folder.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest
import spawn_targets
from erlang_nodes import COOKIE, GUARD, unique
from node_helpers import SERVE, python_node
from test_connection import PEER, frame, open_connection, remote_pid

import otp
from otp import Atom
from otp._runtime._ids import _new_ref
from otp._runtime._node_options import DistOptions
from otp.testing import VirtualClock, wait_idle

HERE = os.path.dirname(os.path.abspath(__file__))
MONITOR, LINK = Atom("monitor"), Atom("link")


def mfa(function: str, arity: int, module: str = "spawn_targets") -> tuple[Atom, Atom, int]:
    return Atom(module), Atom(function), arity


def request(ref: object, caller: otp.Pid, target: object, opts: list[object]) -> tuple[object, ...]:
    return (29, ref, caller, caller, target, opts)


def of_op(packets: list[tuple[object, ...]], op: int) -> list[tuple[Any, ...]]:
    return [p for p in packets if p and isinstance(p[0], tuple) and p[0][0] == op]


def peer_request(target: object, args: list[object], opts: list[object], rpc: Any = "*") -> Any:
    """Feed one spawn request from the peer; every packet this node wrote, and the ReqId."""

    async def main() -> tuple[list[tuple[object, ...]], object]:
        conn, reader, wire = open_connection()
        conn.dist.options = DistOptions(rpc=rpc)
        ref = _new_ref(PEER, 7, (1, 2, 3))
        reader.feed_data(frame(request(ref, remote_pid(5), target, opts), args))
        await wait_idle()
        packets = wire.packets()
        conn.close()
        return packets, ref

    return VirtualClock().run(main)


class TestSpawnRequestsFromThePeer:
    def test_the_reply_carries_the_new_pid_and_the_monitor_flag(self) -> None:
        packets, ref = peer_request(mfa("add", 2), [1, 2], [MONITOR])
        [(reply,)] = of_op(packets, 31)
        assert reply[1] == ref and reply[3] == 2 and isinstance(reply[4], otp.Pid)

    def test_the_monitor_fires_with_the_request_id_when_the_process_ends(self) -> None:
        packets, ref = peer_request(mfa("add_later", 2), [1, 2], [MONITOR])
        [(down, reason)] = of_op(packets, 28)
        assert down[3] == ref and reason == "normal"

    def test_a_link_sends_the_exit_of_a_crash_to_the_caller(self) -> None:
        packets, _ = peer_request(mfa("fail", 1), ["bad"], [LINK])
        [(reply,)] = of_op(packets, 31)
        [(exit_, reason)] = of_op(packets, 24)
        assert reply[3] == 1 and repr(exit_[2]) == repr(remote_pid(5))
        assert isinstance(reason, ValueError) and str(reason) == "bad"

    def test_an_unknown_option_is_answered_badopt(self) -> None:
        packets, _ = peer_request(mfa("add", 2), [1, 2], [Atom("bogus")])
        [(reply,)] = of_op(packets, 31)
        assert reply[3] == 0 and reply[4] == "badopt"

    def test_spawn_opt_options_without_meaning_here_are_accepted(self) -> None:
        packets, _ = peer_request(mfa("add", 2), [1, 2], [(Atom("priority"), Atom("high"))])
        [(reply,)] = of_op(packets, 31)
        assert isinstance(reply[4], otp.Pid)

    def test_an_unknown_module_exits_undef_as_erlang_does(self) -> None:
        packets, _ = peer_request(mfa("f", 0, "no_such_module"), [], [MONITOR])
        [(_, reason)] = of_op(packets, 28)
        assert reason == (Atom("undef"), [(Atom("no_such_module"), Atom("f"), [], [])])

    def test_a_module_outside_rpc_is_refused_naming_the_allow_list(self) -> None:
        packets, _ = peer_request(mfa("add", 2), [1, 2], [MONITOR], rpc=["json"])
        [(_, (reason, _stack))] = of_op(packets, 28)
        assert reason == ("rpc_not_allowed", "spawn_targets", ["json"])


class TestExecuteCall:
    """`erpc:execute_call(Ref, M, F, A)`: the exit reasons erpc.erl reads."""

    @staticmethod
    def outcome(function: str, args: list[object], rpc: Any = "*") -> tuple[object, ...]:
        res = _new_ref(PEER, 7, (9, 9, 9))
        target = mfa("execute_call", 4, "erpc")
        packets, _ = peer_request(
            target, [res, Atom("spawn_targets"), Atom(function), args], [MONITOR], rpc
        )
        [(_, reason)] = of_op(packets, 28)
        assert isinstance(reason, tuple) and reason[0] == res
        return reason[1:]

    def test_a_plain_function_returns(self) -> None:
        assert self.outcome("add", [1, 2]) == ("return", 3)

    def test_an_async_function_returns(self) -> None:
        assert self.outcome("add_later", [1, 2]) == ("return", 3)

    def test_a_python_exception_is_an_error_with_class_message_and_stack(self) -> None:
        kind, reason, stack = self.outcome("fail", ["bad"])
        assert (kind, reason) == ("error", ("python", "ValueError", "bad"))
        assert isinstance(stack, list) and stack[0][:3] == ("spawn_targets", "fail", 1)

    def test_remote_throw_throws(self) -> None:
        assert self.outcome("throw", ["x"]) == ("throw", "x")

    def test_exit_exits(self) -> None:
        assert self.outcome("leave", ["why"]) == ("exit", "why")

    def test_a_missing_function_is_undef(self) -> None:
        assert self.outcome("nope", []) == (
            "error",
            "undef",
            [(Atom("spawn_targets"), Atom("nope"), [], [])],
        )

    def test_a_module_outside_rpc_is_an_error(self) -> None:
        kind, reason, _ = self.outcome("add", [1, 2], rpc=["json"])
        assert (kind, reason) == ("error", ("rpc_not_allowed", "spawn_targets", ["json"]))


class TestOurSpawnRequests:
    def test_the_request_names_the_function_and_the_reply_gives_the_pid(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object, object]:
            conn, reader, wire = open_connection()
            pending = otp.spawn(spawn_targets.add, 1, 2, node=PEER)
            [(control, args)] = of_op(wire.packets(), 29)
            reader.feed_data(frame((31, control[1], control[2], 0, remote_pid(9))))
            pid = await pending
            conn.close()
            return control[4:], args, pid

        control, args, pid = clock.run(main)
        assert control == (mfa("add", 2), []) and args == [1, 2] and pid == remote_pid(9)

    def test_spawn_link_is_linked_when_the_await_returns(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, otp.Pid]:
            otp.trap_exit(True)
            conn, reader, wire = open_connection()
            pending = otp.spawn_link(spawn_targets.add, 1, 2, node=PEER)
            [(control, _)] = of_op(wire.packets(), 29)
            assert control[5] == [LINK]
            reader.feed_data(frame((31, control[1], control[2], 1, remote_pid(9))))
            pid = await pending
            conn.close()  # the link fires
            return await otp.receive(), pid

        exited, pid = clock.run(main)
        assert exited == otp.Exited(pid, "noconnection")

    def test_spawn_monitor_gives_the_request_id_as_the_monitor(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            conn, reader, wire = open_connection()
            pending = otp.spawn_monitor(spawn_targets.add, 1, 2, node=PEER)
            [(control, _)] = of_op(wire.packets(), 29)
            reader.feed_data(frame((31, control[1], control[2], 2, remote_pid(9))))
            pid, ref = await pending
            reader.feed_data(frame((28, pid, control[2], control[1]), Atom("boom")))
            down = await otp.receive()
            conn.close()
            return down, otp.Down(ref, pid, "boom")

        down, expected = clock.run(main)
        assert down == expected

    def test_an_error_reply_raises_spawn_error(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, reader, wire = open_connection()
            pending = otp.spawn(spawn_targets.add, 1, 2, node=PEER)
            [(control, _)] = of_op(wire.packets(), 29)
            reader.feed_data(frame((31, control[1], control[2], 0, Atom("system_limit"))))
            with pytest.raises(otp.SpawnError) as refused:
                await pending
            conn.close()
            return refused.value.reason

        assert clock.run(main) == "system_limit"

    def test_a_lost_connection_raises_no_connection(self, clock: VirtualClock) -> None:
        async def main() -> None:
            conn, _, _ = open_connection()
            pending = otp.spawn(spawn_targets.add, 1, 2, node=PEER)
            conn.close()
            with pytest.raises(otp.NoConnection):
                await pending

        clock.run(main)

    def test_a_caller_gone_before_the_reply_sends_its_exit_to_the_new_process(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[tuple[object, ...]]:
            conn, reader, wire = open_connection()
            started: list[object] = []

            async def caller() -> None:
                started.append(otp.spawn_link(spawn_targets.add, 1, 2, node=PEER))
                raise otp.Exit("gone")

            ref = otp.monitor(otp.spawn(caller))
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            [(control, _)] = of_op(wire.packets(), 29)
            reader.feed_data(frame((31, control[1], control[2], 1, remote_pid(9))))
            await wait_idle()
            exits = of_op(wire.packets(), 24)
            conn.close()
            return exits

        exits: list[tuple[Any, ...]] = clock.run(main)
        [(exit_, reason)] = exits
        assert repr(exit_[2]) == repr(remote_pid(9)) and reason == "gone"

    def test_a_partial_travels_pickled_as_erlang_apply(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, Any]:
            conn, _, wire = open_connection()
            otp.spawn(functools.partial(spawn_targets.add, 1), 2, node=PEER)
            [(control, args)] = of_op(wire.packets(), 29)
            conn.close()
            return control[4], args

        target, args = clock.run(main)
        assert target == (Atom("erlang"), Atom("apply"), 1)
        assert isinstance(args, list) and args[1] == [2]

    def test_a_lambda_cannot_travel_and_says_why(self, clock: VirtualClock) -> None:
        async def main() -> str:
            conn, _, _ = open_connection()
            with pytest.raises(TypeError) as refused:
                otp.spawn(lambda: None, node=PEER)
            conn.close()
            return str(refused.value)

        assert "module level" in clock.run(main)

    def test_this_node_s_own_name_spawns_here(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await otp.spawn(spawn_targets.wait_forever, node=otp.node())
            return otp.is_alive(pid)

        assert clock.run(main) is True

    def test_this_node_s_own_name_runs_a_pair_or_a_plain_function_as_a_peer_s_would(
        self,
    ) -> None:
        async def main() -> list[object]:
            here = otp.node()
            await otp.spawn(("spawn_targets", "report"), otp.self(), "by name", node=here)
            reported = await otp.receive()
            _, ref = await otp.spawn_monitor(spawn_targets.fail, "bad", node=here)
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return [reported, down.reason]

        reported, reason = otp.run(main, node=unique("py") + "@127.0.0.1", cookie=COOKIE)
        assert reported[:2] == (Atom("report"), "by name")  # type: ignore[index]
        assert isinstance(reason, ValueError) and str(reason) == "bad"


# -- two Python nodes -------------------------------------------------------------------

OTHER = f"""
import asyncio, sys
sys.path.insert(0, {HERE!r})
import otp

async def main():
{SERVE}

rpc = sys.argv[3].split(",") if sys.argv[3] != "*" else "*"
otp.run(main, node=sys.argv[1], cookie=sys.argv[2], rpc=rpc)
"""


def two_nodes(main: Any, rpc: str = "*") -> Any:
    other = unique("other") + "@127.0.0.1"

    async def run() -> object:
        async with python_node(OTHER, other, COOKIE, rpc):
            return await main(other)

    return otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE)


async def report_from(pending: Any) -> tuple[object, ...]:
    await pending
    msg = await otp.receive(timeout=GUARD)
    assert isinstance(msg, tuple)
    return msg


class TestBetweenPythonNodes:
    def test_spawn_runs_a_module_function_there(self) -> None:
        async def main(other: str) -> object:
            pid = await otp.spawn(spawn_targets.report, otp.self(), "hi", node=other)
            _, what, sender = await report_from(_done(pid))
            return what, sender == pid, pid.node == other

        assert two_nodes(main) == ("hi", True, True)

    def test_spawn_monitor_reports_the_crash_and_a_partial_runs_there(self) -> None:
        async def main(other: str) -> object:
            fn = functools.partial(spawn_targets.report, otp.self())
            pid = await otp.spawn(fn, "partial", node=other)
            _, what, _ = await report_from(_done(pid))
            crasher, ref = await otp.spawn_monitor(spawn_targets.wait_then_crash, node=other)
            otp.send(crasher, "go")
            down = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Down))
            assert isinstance(down, otp.Down) and down.ref == ref
            return what, type(down.reason).__name__

        assert two_nodes(main) == ("partial", "RuntimeError")

    def test_a_limited_rpc_refuses_pickled_callables(self) -> None:
        async def main(other: str) -> object:
            fn = functools.partial(spawn_targets.add, 1)
            with pytest.raises(otp.RemoteError) as refused:
                await otp.erpc.call(other, fn, [2])
            return refused.value.reason

        reason = two_nodes(main, rpc="spawn_targets")
        assert isinstance(reason, tuple) and reason[:2] == ("rpc_not_allowed", "pickle")

    def test_start_link_starts_a_gen_server_there_linked_to_the_caller(self) -> None:
        async def main(other: str) -> object:
            otp.trap_exit(True)
            pid = await spawn_targets.Counter.start_link(5, node=other)
            assert pid is not None
            seen = [await otp.call(pid, "node") == other, await otp.call(pid, "state")]
            otp.exit(pid, "kill")
            exited = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Exited))
            return seen, exited == otp.Exited(pid, "killed")

        assert two_nodes(main) == ([True, 5], True)

    def test_a_server_dying_right_after_start_is_seen_through_the_link(self) -> None:
        async def main(other: str) -> object:
            otp.trap_exit(True)
            pid = await spawn_targets.CrashesAtOnce.start_link(None, node=other)
            exited = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Exited))
            assert isinstance(exited, otp.Exited) and exited.pid == pid
            return type(exited.reason).__name__

        # Linked only after the start, the caller would get `noproc` instead.
        assert two_nodes(main) == "RuntimeError"

    def test_the_caller_s_exit_stops_a_trapping_server_as_its_parent_s_does(self) -> None:
        async def main(other: str) -> object:
            me = otp.self()

            async def caller() -> None:
                pid = await spawn_targets.Traps.start_link(me, node=other)
                otp.send(me, ("started", pid))
                await otp.receive()

            starter = otp.spawn(caller)
            started: Any = await otp.receive(timeout=GUARD)
            ref = otp.monitor(started[1])
            otp.exit(starter, "kill")
            terminated: Any = await otp.receive(
                timeout=GUARD, match=lambda m: type(m) is tuple and m[0] == "terminated"
            )
            down = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Down))
            assert isinstance(down, otp.Down) and down.ref == ref
            return terminated[1], down.reason

        assert two_nodes(main) == ("killed", "killed")

    def test_a_failed_start_link_raises_start_error_and_sends_no_exit_signal(self) -> None:
        async def main(other: str) -> object:
            otp.trap_exit(True)
            with pytest.raises(otp.StartError) as failed:
                await spawn_targets.Refuses.start_link("nope", node=other)
            # An exit signal of the failed server would have come ahead of the answer.
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)
            return failed.value.reason

        assert two_nodes(main) == "nope"

    def test_killing_the_server_s_node_fires_the_link_with_noconnection(self) -> None:
        other = unique("other") + "@127.0.0.1"

        async def run() -> object:
            otp.trap_exit(True)
            async with python_node(OTHER, other, COOKIE, "*") as proc:
                pid = await spawn_targets.Counter.start_link(1, node=other)
                assert pid is not None
                proc.kill()
                exited = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Exited))
                return exited == otp.Exited(pid, "noconnection")

        assert otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE) is True

    def test_a_failed_remote_start_raises_start_error(self) -> None:
        async def main(other: str) -> object:
            with pytest.raises(otp.StartError) as failed:
                await spawn_targets.Refuses.start("nope", node=other)
            return failed.value.reason

        assert two_nodes(main) == "nope"

    def test_a_remote_start_outside_rpc_is_refused(self) -> None:
        async def main(other: str) -> object:
            with pytest.raises(otp.StartError) as failed:
                await spawn_targets.Counter.start(1, node=other)
            return failed.value.reason

        assert two_nodes(main, rpc="json") == ("rpc_not_allowed", "spawn_targets")

    def test_killing_the_other_node_fires_noconnection_on_the_monitor(self) -> None:
        other = unique("other") + "@127.0.0.1"

        async def run() -> object:
            async with python_node(OTHER, other, COOKIE, "*") as proc:
                pid, ref = await otp.spawn_monitor(spawn_targets.wait_forever, node=other)
                proc.kill()
                down = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Down))
                return down == otp.Down(ref, pid, "noconnection")

        assert otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE) is True


async def _done(value: object) -> object:
    return value
