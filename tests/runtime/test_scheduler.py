"""Where the runtime meets asyncio: the current node, off its loop, and the running nodes.

Every `otp` function that touches a node must run on that node's event
loop. Called from another thread (a plain one, or an `asyncio.to_thread`
worker, which inherits the calling process's context) it raises
`otp.NotInProcess` naming `otp.from_thread`, and nothing reaches the node.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import otp
from otp._runtime._scheduler import running_nodes, track


class Server(otp.GenServer):
    def init(self, arg: Any) -> Any:
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        if request == "hand_over":
            otp.send("main", from_)
            return otp.NoReply(state)
        return otp.Reply(state, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        return otp.NoReply([*state, request])


@dataclass
class Env:
    """What the operations below work on, made by `main` on the node's loop."""

    pid: otp.Pid
    proc: otp.Pid
    ref: otp.TimerRef
    monitor: otp.Ref
    from_: otp.From


async def forever() -> None:
    await otp.receive(match=lambda m: False)


async def hands_over(server: otp.Pid) -> None:
    await otp.call(server, "hand_over", timeout=None)


#: (name in the error, what a thread tries). Async ones run on a loop of the thread's own.
OPERATIONS: list[tuple[str, Callable[[Env], object]]] = [
    ("otp.cast", lambda e: otp.cast(e.pid, "x")),
    ("otp.cast", lambda e: otp.cast("server", "x")),
    ("otp.send", lambda e: otp.send(e.proc, "x")),
    ("otp.send", lambda e: otp.send("server", "x")),
    ("otp.call", lambda e: asyncio.run(otp.call(e.pid, "x"))),
    ("otp.call", lambda e: asyncio.run(otp.call("server", "x"))),
    ("otp.stop", lambda e: asyncio.run(otp.stop("server"))),
    ("otp.reply", lambda e: otp.reply(e.from_, "x")),
    ("otp.self", lambda e: otp.self()),
    ("otp.receive", lambda e: asyncio.run(otp.receive(timeout=0))),
    ("otp.spawn", lambda e: otp.spawn(forever)),
    ("otp.spawn_link", lambda e: otp.spawn_link(forever)),
    ("otp.spawn_monitor", lambda e: otp.spawn_monitor(forever)),
    ("otp.register", lambda e: otp.register("other", e.proc)),
    ("otp.unregister", lambda e: otp.unregister("server")),
    ("otp.whereis", lambda e: otp.whereis("server")),
    ("otp.registered", lambda e: otp.registered()),
    ("otp.processes", lambda e: otp.processes()),
    ("otp.process_info", lambda e: otp.process_info(e.proc)),
    ("otp.make_ref", lambda e: otp.make_ref()),
    ("otp.node", lambda e: otp.node()),
    ("otp.send_after", lambda e: otp.send_after(e.proc, "x", 1.0)),
    ("otp.cancel_timer", lambda e: otp.cancel_timer(e.ref)),
    ("otp.exit", lambda e: otp.exit(e.proc, "kill")),
    ("otp.link", lambda e: otp.link(e.proc)),
    ("otp.unlink", lambda e: otp.unlink(e.proc)),
    ("otp.monitor", lambda e: otp.monitor(e.proc)),
    ("otp.demonitor", lambda e: otp.demonitor(e.monitor)),
    ("otp.trap_exit", lambda e: otp.trap_exit(True)),
    ("otp.Table", lambda e: otp.Table()),
    ("otp.Table.named", lambda e: otp.Table.named("table")),
    ("otp.Task.async_", lambda e: otp.Task.async_(forever)),
]
IDS = [f"{i}-{name}" for i, (name, _) in enumerate(OPERATIONS)]


def attempt(op: Callable[[Env], object], env: Env) -> BaseException | None:
    try:
        op(env)
    except Exception as exc:
        return exc
    return None


def in_plain_thread(op: Callable[[Env], object], env: Env) -> BaseException | None:
    out: list[BaseException | None] = []
    thread = threading.Thread(target=lambda: out.append(attempt(op, env)))
    thread.start()
    thread.join()
    return out[0]


async def try_off_the_loop(
    op: Callable[[Env], object], how: str
) -> tuple[BaseException | None, list[object], bool, bool]:
    """On a node: set up, try `op` in a thread, then report what the node saw."""
    otp.register("main", otp.self())
    pid = await Server.start(None, name="server")
    assert pid is not None
    proc = otp.spawn(forever)
    ref = otp.send_after(proc, "later", 60.0)
    otp.Table(name="table")
    otp.spawn(hands_over, pid)
    from_ = await otp.receive()
    assert isinstance(from_, otp.From)
    env = Env(pid, proc, ref, otp.monitor(proc), from_)
    if how == "plain thread":
        error = await asyncio.to_thread(in_plain_thread, op, env)
    else:
        error = await asyncio.to_thread(attempt, op, env)
    state = await otp.call(pid, "state")
    assert isinstance(state, list)
    # Nothing reached the node: no cast, no exit, no cancelled timer, no name.
    return error, state, otp.is_alive(proc), otp.whereis("server") == pid


class TestOffTheNodesLoop:
    @pytest.mark.parametrize(("name", "op"), OPERATIONS, ids=IDS)
    def test_from_a_plain_thread_raises_not_in_process_naming_from_thread(
        self, name: str, op: Callable[[Env], object]
    ) -> None:
        error, state, alive, named = otp.run(try_off_the_loop, op, "plain thread")
        assert isinstance(error, otp.NotInProcess), error
        message = str(error)
        assert message.startswith(f"{name} was called from a thread that is not the event loop")
        assert "otp.from_thread." in message
        assert (state, alive, named) == ([], True, True)

    @pytest.mark.parametrize(("name", "op"), OPERATIONS, ids=IDS)
    def test_from_an_asyncio_to_thread_worker_raises_not_in_process(
        self, name: str, op: Callable[[Env], object]
    ) -> None:
        # The worker inherited main's context: current_process is set there.
        error, state, alive, named = otp.run(try_off_the_loop, op, "to_thread worker")
        assert isinstance(error, otp.NotInProcess), error
        message = str(error)
        assert message.startswith(f"{name} was called from a thread that is not the event loop")
        assert "as an asyncio.to_thread worker does, but it is not that process" in message
        assert "otp.from_thread." in message
        assert (state, alive, named) == ([], True, True)

    def test_cast_call_and_send_name_their_from_thread_counterparts(self) -> None:
        for name, op in OPERATIONS[:6]:
            error, *_ = otp.run(try_off_the_loop, op, "plain thread")
            assert f"use otp.from_thread.{name.removeprefix('otp.')}(" in str(error)

    def test_a_process_local_function_suggests_from_thread_run(self) -> None:
        error, *_ = otp.run(try_off_the_loop, lambda e: otp.self(), "plain thread")
        assert "as a process on the node with otp.from_thread.run(afn, ...)" in str(error)


class TestWithoutANode:
    def test_a_process_function_says_to_start_a_node_and_names_from_thread(self) -> None:
        with pytest.raises(otp.NotInProcess, match="with no otp node running") as info:
            otp.self()
        assert "otp.run(main)" in str(info.value)
        assert "otp.from_thread" in str(info.value)

    def test_a_pid_of_a_stopped_node_says_the_node_is_not_running(self) -> None:
        async def main() -> otp.Pid:
            return otp.self()

        pid = otp.run(main)
        with pytest.raises(otp.NotInProcess, match="'nonode@nohost', which is not running"):
            otp.send(pid, "too late")

    def test_a_loop_without_a_node_says_to_start_one(self) -> None:
        async def main() -> None:
            with pytest.raises(otp.NotInProcess, match=r"no otp node runs on this event loop"):
                otp.whereis("anyone")

        asyncio.run(main())


class TestRunningNodes:
    def test_lists_a_node_while_it_runs(self) -> None:
        async def main() -> tuple[list[otp.Node], otp.Node]:
            async with otp.Node() as node:
                return running_nodes(), node

        during, node = asyncio.run(main())
        assert during == [node]
        assert running_nodes() == []

    def test_requests_still_waiting_when_the_node_stops_are_cancelled(self) -> None:
        waiting: concurrent.futures.Future[object] = concurrent.futures.Future()

        async def main() -> bool:
            async with otp.Node() as node:
                assert track(node, waiting)
            return track(node, concurrent.futures.Future())

        assert asyncio.run(main()) is False  # a stopped node takes no more
        assert waiting.cancelled()
