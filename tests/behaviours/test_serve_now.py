"""`ServerProcess.serve_now`: a call from another node served in the callback that read it."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import otp
from otp._behaviours._server_messages import From
from otp._behaviours._server_process import ServerProcess
from otp.testing import VirtualClock, wait_idle

_who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


class Log(otp.GenServer):
    """Records each message it handles, with who it runs as; calls answer the log."""

    def init(self, arg: object) -> object:
        _who.set("server")
        return []

    def handle_cast(self, msg: object, state: object) -> Any:
        assert isinstance(state, list)
        return otp.NoReply([*state, (msg, _who.get(), otp.self())])

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, list)
        log = [*state, (request, _who.get(), otp.self())]
        return otp.Reply(log, log)


def remote_call(server: ServerProcess, request: object, replies: list[object]) -> From:
    """A call as the connection makes it for a caller on another node."""
    from_ = From(None, request, server)
    from_.remote = replies.append
    return from_


def from_a_callback(fn: object) -> None:
    """Run `fn` as a transport's callback: no task, a context of its own."""
    assert callable(fn)
    asyncio.get_running_loop().call_soon(fn, context=contextvars.Context())


class TestServeNow:
    def test_the_call_is_answered_in_the_callback_after_what_was_queued(self) -> None:
        async def main() -> list[object]:
            pid = await Log.start_link(None)
            assert type(pid) is ServerProcess
            replies: list[object] = []
            seen: list[object] = []

            def received() -> None:
                otp.cast(pid, "first")  # queued before the call: handled first
                pid.serve_now(remote_call(pid, "call", replies))
                seen.append(list(replies))

            from_a_callback(received)
            await wait_idle()
            return [seen, replies == seen[0]]

        seen, same = VirtualClock().run(main)
        assert same is True
        assert isinstance(seen, list)
        [[log]] = seen  # one reply, there when the callback returned
        assert [(m, who) for m, who, _ in log] == [("first", "server"), ("call", "server")]

    def test_a_suspended_server_keeps_the_call_queued(self) -> None:
        async def main() -> list[object]:
            pid = await Log.start_link(None)
            assert type(pid) is ServerProcess
            await otp.sys.suspend(pid)
            replies: list[object] = []
            from_a_callback(lambda: pid.serve_now(remote_call(pid, "call", replies)))
            await wait_idle()
            before = list(replies)
            await otp.sys.resume(pid)
            await wait_idle()
            return [before, len(replies)]

        assert VirtualClock().run(main) == [[], 1]

    def test_inside_a_task_the_call_is_queued_for_the_servers_own_run(self) -> None:
        async def main() -> list[object]:
            pid = await Log.start_link(None)
            assert type(pid) is ServerProcess
            replies: list[object] = []
            pid.serve_now(remote_call(pid, "call", replies))  # this test is a task
            before = list(replies)
            await wait_idle()
            return [before, len(replies)]

        assert VirtualClock().run(main) == [[], 1]

    def test_a_crash_in_the_callback_stops_the_server_without_a_reply(self) -> None:
        class Crashy(otp.GenServer):
            def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                raise ValueError("boom")

        async def main() -> list[object]:
            otp.trap_exit(True)
            pid = await Crashy.start_link(None)
            assert type(pid) is ServerProcess
            replies: list[object] = []
            from_a_callback(lambda: pid.serve_now(remote_call(pid, "call", replies)))
            await wait_idle()
            return [otp.is_alive(pid), len(replies)]

        # As in Erlang: the caller learns of it from its monitor, not a reply.
        assert VirtualClock().run(main) == [False, 0]
