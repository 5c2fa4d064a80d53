"""`otp.sys` on a server of another Python node, by `(name, node)` and by pid.

The other node runs in a subprocess; its server gets Erlang's `sys`
requests over the wire and answers them as gen_server does, and `otp.sys`
maps the answers to the shapes it returns for a local server.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator

import pytest
from node_helpers import SERVE, python_node
from node_helpers import unique_node as unique

import otp
from otp import Atom

COOKIE = "sys-remote"

OTHER_NODE = (
    """
import asyncio, sys, otp

class Counter(otp.GenServer):
    def init(self, arg):
        return 7
    def handle_call(self, request, from_, state):
        if request == "inc":
            return otp.Reply("ok", state + 1)
        return otp.Reply(("state", state), state)
    def code_change(self, old_vsn, state, extra):
        return (old_vsn, state, extra)

class Busy(otp.GenServer):
    async def handle_cast(self, request, state):
        await asyncio.Event().wait()  # busy for ever: system requests wait

async def main():
    await Counter.start(None, name="counter")
    await Busy.start(None, name="busy")
"""
    + SERVE
    + """

otp.run(main, node=sys.argv[1], cookie=sys.argv[2])
"""
)


def other_node(name: str) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
    return python_node(OTHER_NODE, name, COOKIE)


class TestStateAndStatus:
    def test_get_state_replace_state_and_get_status_by_name_and_by_pid(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                srv = ("counter", b)
                seen: list[object] = [await otp.sys.get_state(srv)]
                # A function the other node can unpickle runs there.
                seen.append(await otp.sys.replace_state(srv, operator.neg))
                status = await otp.sys.get_status(srv)
                seen += [status["behaviour"], status["status"], status["state"]]
                seen.append(status["registered_name"])
                pid = status["pid"]
                assert isinstance(pid, otp.Pid) and pid.node == b
                seen.append(await otp.sys.get_state(pid, timeout=None))
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == [
            7,
            -7,
            "gen_server",
            "running",
            -7,
            "counter",
            -7,
        ]

    def test_a_function_that_cannot_run_there_raises_exit_with_gen_servers_reason(
        self,
    ) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> tuple[object, object]:
            async with other_node(b):
                with pytest.raises(otp.Exit) as failed:
                    await otp.sys.replace_state(("counter", b), operator.itemgetter(3))
                return failed.value.reason, await otp.sys.get_state(("counter", b))

        reason, state = otp.run(main, node=a, cookie=COOKIE)
        assert isinstance(reason, tuple)
        assert reason[0] == Atom("callback_failed") and state == 7
        assert reason[1] == (Atom("gen_server"), Atom("system_replace_state"))


class TestSuspensionAndCodeChange:
    def test_a_suspended_server_answers_system_requests_and_calls_after_resume(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                srv = ("counter", b)
                await otp.sys.suspend(srv)
                # A call by hand, sent before the status request on the same
                # connection: had it been answered, the answer would be here first.
                tag = otp.make_ref()
                otp.send(srv, (Atom("$gen_call"), (otp.self(), tag), "get"))
                seen: list[object] = [(await otp.sys.get_status(srv))["status"]]
                with pytest.raises(TimeoutError):
                    await otp.receive(timeout=0)
                await otp.sys.change_code(srv, "counter", "v1", "extra")
                await otp.sys.resume(srv)
                answer = await otp.receive(timeout=60.0)
                assert isinstance(answer, tuple) and answer[0] == tag
                seen.append(answer[1])
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == ["suspended", ("state", ("v1", 7, "extra"))]

    def test_change_code_of_a_running_server_is_refused(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> object:
            async with other_node(b):
                with pytest.raises(otp.Exit) as refused:
                    await otp.sys.change_code(("counter", b), "counter", "v1", None)
                return refused.value.reason

        reason = otp.run(main, node=a, cookie=COOKIE)
        assert isinstance(reason, tuple) and reason[0] == Atom("unknown_system_msg")


class TestDebugging:
    def test_statistics_count_and_trace_turns_on_and_off(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                srv = ("counter", b)
                seen: list[object] = [await otp.sys.statistics(srv)]
                await otp.sys.statistics(srv, True)
                await otp.call(srv, "inc")
                stats = await otp.sys.statistics(srv)
                assert stats is not None
                seen += [stats["messages_in"], stats["messages_out"], stats["reductions"]]
                start = stats["start_time"]
                assert isinstance(start, tuple) and len(start) == 2
                await otp.sys.statistics(srv, False)
                seen.append(await otp.sys.statistics(srv))
                await otp.sys.trace(srv, True)
                await otp.call(srv, "inc")
                await otp.sys.trace(srv, False)
                seen.append(await otp.sys.get_state(srv))
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == [None, 1, 1, 0, None, 9]


class TestFailures:
    def test_noproc_timeout_and_noconnection_raise_as_for_calls(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                with pytest.raises(otp.NoProc):
                    await otp.sys.get_state(("nobody", b))
                otp.cast(("busy", b), "block")  # reaches it before the request
                with pytest.raises(otp.CallTimeout):
                    await otp.sys.get_state(("busy", b), timeout=0.2)
                with pytest.raises(otp.NoConnection):
                    await otp.sys.get_status(("counter", unique("gone")))
                await otp.sys.terminate(("counter", b), "normal")
                with pytest.raises(otp.NoProc):
                    await otp.sys.get_state(("counter", b))
                return [True]

        assert otp.run(main, node=a, cookie=COOKIE) == [True]

    def test_a_pid_of_this_node_that_is_gone_is_noproc(self) -> None:
        class Quiet(otp.GenServer):
            pass

        async def main() -> None:
            pid = await Quiet.start(None)
            assert pid is not None
            await otp.stop(pid)
            with pytest.raises(otp.NoProc):
                await otp.sys.get_state(pid)

        otp.run(main)
