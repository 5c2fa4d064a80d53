"""otp.from_thread: call, cast, send and run from threads that are not the node's loop.

Most tests run a node on an event loop in a thread of its own (`NodeThread`)
and use it from the test's thread, as a sync web handler would. Every wait
is on something the other side reports (a reply, an Event it sets, a thread
that ends); the only real-time waits are the timeouts a test is about.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

import otp


class Server(otp.GenServer):
    """Casts are appended to the state; calls say what to do."""

    def init(self, arg: Any) -> Any:
        return []

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        match request:
            case "state":
                return otp.Reply(state, state)
            case "caller":
                return otp.Reply(from_.caller, state)
            case "hold":
                return otp.NoReply(state)
            case "crash":
                raise RuntimeError("crash in handle_call")
        return otp.Reply(request, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        match request:
            case ("block", blocked, released):
                blocked.set()
                released.wait()  # holds the node's event loop
            case ("forward_to", pid, msg):
                otp.send(pid, msg)
        return otp.NoReply([*state, request])


async def start_server(name: str | None = None) -> otp.Pid:
    pid = await Server.start(None, name=name)
    assert pid is not None
    return pid


class NodeThread:
    """An otp node on an event loop running in a thread of its own."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.node: otp.Node | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._serve(),))

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop: asyncio.Future[None] = self.loop.create_future()
        try:
            async with otp.Node() as node:
                self.node = node
                self.ready.set()
                await self.stop
        finally:
            self.ready.set()  # also when the node failed to start

    def __enter__(self) -> otp.Node:
        self.thread.start()
        self.ready.wait()
        assert self.node is not None, "the node did not start"
        return self.node

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set_result, None)
        self.thread.join()


def outcome_of(fn: Any, *args: Any) -> tuple[threading.Thread, list[object]]:
    """Start `fn(*args)` in a thread; the list gets its result or exception."""
    out: list[object] = []

    def body() -> None:
        try:
            out.append(fn(*args))
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, out


class TestCall:
    def test_returns_the_reply_to_a_plain_thread(self) -> None:
        with NodeThread():
            pid = otp.from_thread.run(start_server, "server")
            assert otp.from_thread.call(pid, "hi") == "hi"
            assert otp.from_thread.call("server", ("by", "name")) == ("by", "name")

    def test_raises_what_otp_call_raises(self) -> None:
        with NodeThread():
            pid = otp.from_thread.run(start_server)
            with pytest.raises(otp.NoProc, match="no process is registered as 'nobody'"):
                otp.from_thread.call("nobody", "hi")
            with pytest.raises(otp.Exit) as info:
                otp.from_thread.call(pid, "crash")
            assert isinstance(info.value.reason, RuntimeError)
            with pytest.raises(otp.NoProc, match="not alive"):
                otp.from_thread.call(pid, "hi")

    def test_timeout_zero_raises_call_timeout_at_once(self) -> None:
        with NodeThread():
            pid = otp.from_thread.run(start_server)
            with pytest.raises(otp.CallTimeout, match="no reply within 0 s"):
                otp.from_thread.call(pid, "hold", timeout=0)

    def test_gives_up_at_its_timeout_while_the_loop_is_busy(self) -> None:
        with NodeThread():
            pid = otp.from_thread.run(start_server)
            blocked, released = threading.Event(), threading.Event()
            blocker, _ = outcome_of(otp.from_thread.cast, pid, ("block", blocked, released))
            blocked.wait()
            try:
                # The loop is held until `released` is set: the call cannot be
                # answered, and its timeout still ends the wait.
                with pytest.raises(otp.CallTimeout, match=r"no reply within 0\.05 s"):
                    otp.from_thread.call(pid, "hi", timeout=0.05)
            finally:
                released.set()
                blocker.join()
            assert otp.from_thread.call(pid, "state") == [("block", blocked, released)]

    def test_from_an_asyncio_to_thread_worker_the_caller_is_not_the_process(self) -> None:
        async def main() -> object:
            pid = await start_server()
            return await asyncio.to_thread(otp.from_thread.call, pid, "caller")

        assert otp.run(main) is None  # a plain task made the call, not main

    def test_on_the_nodes_own_loop_raises_runtime_error_saying_to_await(self) -> None:
        async def main() -> None:
            pid = await start_server()
            with pytest.raises(RuntimeError, match=r"deadlock.*await otp\.call"):
                otp.from_thread.call(pid, "hi")

        otp.run(main)


class TestCast:
    def test_returns_once_the_request_is_in_the_mailbox(self) -> None:
        with NodeThread():
            pid = otp.from_thread.run(start_server)
            otp.from_thread.cast(pid, "a")
            otp.from_thread.cast(pid, "b")
            assert otp.from_thread.call(pid, "state") == ["a", "b"]

    def test_a_missing_server_is_no_error(self) -> None:
        with NodeThread():
            otp.from_thread.cast("nobody", "hi")

    def test_a_cast_from_a_timer_thread_wakes_an_idle_node(self) -> None:
        async def main() -> object:
            pid = await start_server()
            request = ("forward_to", otp.self(), "tick")
            timer = threading.Timer(0, otp.from_thread.cast, args=(pid, request))
            timer.start()
            # The loop sleeps in its selector, with no timer due: only the
            # wake-up that from_thread sends gets this message in.
            return await otp.receive()

        assert otp.run(main) == "tick"

    def test_on_the_nodes_own_loop_raises_runtime_error(self) -> None:
        async def main() -> None:
            with pytest.raises(RuntimeError, match=r"use otp\.cast"):
                otp.from_thread.cast("anyone", "hi")

        otp.run(main)


class TestSend:
    def test_a_message_to_a_name_arrives(self) -> None:
        async def main() -> object:
            otp.register("main", otp.self())
            await asyncio.to_thread(otp.from_thread.send, "main", "hello")
            return await otp.receive()

        assert otp.run(main) == "hello"

    def test_an_unknown_name_raises_no_proc(self) -> None:
        with NodeThread(), pytest.raises(otp.NoProc, match="'nobody'"):
            otp.from_thread.send("nobody", "hello")


async def register_and_read(name: str) -> tuple[bool, list[tuple[object, ...]]]:
    otp.register(name, otp.self())
    table = otp.Table(name="t")
    table.insert(("k", 1))
    otp.send_after(otp.self(), "timer", 0)
    assert await otp.receive() == "timer"
    return otp.whereis(name) == otp.self(), otp.Table.named("t").lookup("k")


class TestRun:
    def test_returns_the_result_of_a_new_process(self) -> None:
        async def main() -> tuple[bool, bool]:
            me = otp.self()

            async def who() -> otp.Pid:
                return otp.self()

            pid = await asyncio.to_thread(otp.from_thread.run, who)
            return pid != me, otp.is_alive(pid)

        assert otp.run(main) == (True, False)

    def test_the_process_may_use_every_otp_function(self) -> None:
        with NodeThread():
            assert otp.from_thread.run(register_and_read, "worker") == (True, [("k", 1)])

    def test_raises_the_exception_of_the_function_without_logging_a_crash(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def fails(n: int) -> None:
            raise ValueError(f"bad {n}")

        with NodeThread(), caplog.at_level(logging.INFO, logger="otp"):
            with pytest.raises(ValueError, match="bad 3"):
                otp.from_thread.run(fails, 3)
        assert [r for r in caplog.records if r.name == "otp"] == []

    def test_a_process_killed_first_raises_exit_with_the_reason(self) -> None:
        async def exits() -> None:
            raise otp.Exit("boom")

        async def linked_to_a_failure() -> None:
            otp.spawn_link(exits)
            await otp.receive()

        with NodeThread(), pytest.raises(otp.Exit, match="exited with 'boom'") as info:
            otp.from_thread.run(linked_to_a_failure)
        assert info.value.reason == "boom"

    def test_a_node_shutting_down_ends_the_wait_with_exit(self) -> None:
        started = threading.Event()

        async def waits() -> None:
            started.set()
            await otp.receive()

        with NodeThread():
            thread, out = outcome_of(otp.from_thread.run, waits)
            started.wait()
        thread.join()
        assert len(out) == 1 and isinstance(out[0], otp.Exit)
        assert out[0].reason == "shutdown"

    def test_a_sync_function_raises_type_error(self) -> None:
        def sync() -> int:
            return 1

        with NodeThread(), pytest.raises(TypeError, match="needs an async function"):
            otp.from_thread.run(sync)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got 42"):
            otp.from_thread.run(42)  # type: ignore[arg-type]

    def test_on_the_nodes_own_loop_raises_runtime_error(self) -> None:
        async def main() -> None:
            with pytest.raises(RuntimeError, match=r"otp\.spawn"):
                otp.from_thread.run(start_server)

        otp.run(main)


class TestWhichNode:
    @pytest.mark.parametrize(
        "use",
        [
            lambda: otp.from_thread.call("server", "hi"),
            lambda: otp.from_thread.cast("server", "hi"),
            lambda: otp.from_thread.send("server", "hi"),
            lambda: otp.from_thread.run(start_server),
        ],
        ids=["call", "cast", "send", "run"],
    )
    def test_with_no_node_running_raises_not_in_process_saying_to_start_one(self, use: Any) -> None:
        with pytest.raises(otp.NotInProcess, match=r"no otp node runs in this process.*otp\.Node"):
            use()

    def test_with_two_nodes_running_raises_value_error_saying_to_pass_node(self) -> None:
        with NodeThread(), NodeThread():
            with pytest.raises(
                ValueError,
                match=r"2 otp nodes run in this process \('nonode@nohost', 'nonode@nohost'\): "
                r"pass node=",
            ):
                otp.from_thread.call("server", "hi")

    def test_node_picks_one_of_several(self) -> None:
        with NodeThread() as a, NodeThread() as b:
            otp.from_thread.run(start_server, "server", node=a)
            assert otp.from_thread.call("server", "hi", node=a) == "hi"
            with pytest.raises(otp.NoProc):
                otp.from_thread.call("server", "hi", node=b)

    def test_a_pid_names_its_node(self) -> None:
        with NodeThread() as a, NodeThread() as b:
            pid = otp.from_thread.run(start_server, node=a)
            otp.from_thread.cast(pid, "a")
            assert otp.from_thread.call(pid, "state") == ["a"]
            with pytest.raises(ValueError, match="is a process of node 'nonode@nohost'"):
                otp.from_thread.call(pid, "state", node=b)

    def test_node_may_be_a_name(self) -> None:
        with NodeThread():
            assert otp.from_thread.run(start_server, node="nonode@nohost") is not None
            with pytest.raises(otp.NotInProcess, match=r"no otp node named 'a@h'.*nonode@nohost"):
                otp.from_thread.call("server", "hi", node="a@h")
            with NodeThread(), pytest.raises(ValueError, match=r"pass node= the otp\.Node"):
                otp.from_thread.call("server", "hi", node="nonode@nohost")

    def test_a_node_that_is_not_running_raises_not_in_process(self) -> None:
        with NodeThread():
            with pytest.raises(otp.NotInProcess, match="'nonode@nohost' is not running"):
                otp.from_thread.call("server", "hi", node=otp.Node())

    def test_anything_else_as_node_raises_type_error(self) -> None:
        with pytest.raises(TypeError, match=r"node= must be an otp\.Node.*got 42 \(int\)"):
            otp.from_thread.call("server", "hi", node=42)  # type: ignore[arg-type]
