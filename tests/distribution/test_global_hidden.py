"""otp.Global on a hidden node: its global peer, global's emulated functions, two Python nodes.

The two-node tests run this (hidden) node and a visible Python node in a
subprocess, which serves as the global peer; each side waits for the
other's answer or output line, with bounds that only guard against hangs.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from erlang_nodes import COOKIE, GUARD, unique
from node_helpers import python_node

import otp
from otp import Atom
from otp.distribution._global_hidden import HiddenGlobal
from otp.distribution._global_table import GlobalTable
from otp.distribution._node import Distribution


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(("echo", request), state)


def hidden_global(*conns: tuple[str, str, bool]) -> tuple[HiddenGlobal, dict[str, object]]:
    """A HiddenGlobal over connections given as (peer, state, published)."""
    table = {
        name: SimpleNamespace(state=state, published=published) for name, state, published in conns
    }
    dist = cast("Distribution", SimpleNamespace(conns=table))
    return HiddenGlobal(dist, GlobalTable()), table  # type: ignore[return-value]


class TestThePeer:
    def test_the_first_connected_visible_node_is_the_peer(self) -> None:
        hidden, _ = hidden_global(("h", "up", False), ("a", "up", True), ("b", "up", True))
        assert hidden.peer() == "a"

    def test_when_the_peer_goes_down_the_next_visible_node_serves(self) -> None:
        hidden, conns = hidden_global(("a", "up", True), ("b", "up", True))
        del conns["a"]
        assert hidden.peer() == "b"

    def test_a_connection_still_being_set_up_is_no_peer(self) -> None:
        hidden, _ = hidden_global(("a", "connecting", True))
        assert hidden.peer() is None

    def test_without_a_visible_node_there_is_no_peer(self) -> None:
        hidden, _ = hidden_global(("h", "up", False))
        assert hidden.peer() is None


class TestWithoutAPeer:
    def test_a_hidden_node_with_no_visible_peer_keeps_its_names_to_itself(self) -> None:
        async def main() -> object:
            pid = await Echo.start_link(None, name=otp.Global("mine"))
            return otp.whereis(otp.Global("mine")) == pid, await otp.call(otp.Global("mine"), 1)

        name = f"{unique('hidden')}@127.0.0.1"
        assert otp.run(main, node=name, cookie=COOKIE) == (True, ("echo", 1))

    def test_a_send_to_a_name_nobody_holds_is_noproc_when_there_is_nobody_to_ask(self) -> None:
        async def main() -> object:
            with pytest.raises(otp.NoProc):
                otp.send(otp.Global("nobody"), "hi")
            with pytest.raises(otp.NoProc):
                await otp.call(otp.Global("nobody"), "hi")
            return True

        assert otp.run(main, node=f"{unique('hidden')}@127.0.0.1", cookie=COOKIE)


class TestGlobalsFunctionsOnAPythonNode:
    """What a hidden node asks its peer, here asked of this visible node itself."""

    @staticmethod
    def run_visible(main: object) -> object:
        return otp.run(main, node=f"{unique('v')}@127.0.0.1", cookie=COOKIE, hidden=False)  # type: ignore[arg-type]

    def test_register_name_answers_yes_then_no_for_a_taken_name(self) -> None:
        async def main() -> object:
            me, other = otp.node(), otp.spawn(otp.receive)
            first = await otp.erpc.call(me, "global", "register_name", [Atom("x"), other])
            again = await otp.erpc.call(me, "global", "register_name", [Atom("x"), otp.self()])
            holder = await otp.erpc.call(me, "global", "whereis_name", [Atom("x")])
            return first, again, holder == other, otp.whereis(otp.Global("x")) == other

        assert self.run_visible(main) == ("yes", "no", True, True)

    def test_whereis_name_of_a_name_nobody_holds_is_undefined(self) -> None:
        async def main() -> object:
            return await otp.erpc.call(otp.node(), "global", "whereis_name", [Atom("none")])

        assert self.run_visible(main) == "undefined"

    def test_send_reaches_the_holder_and_returns_it(self) -> None:
        async def main() -> object:
            await otp.erpc.call(otp.node(), "global", "register_name", [Atom("me"), otp.self()])
            sent = await otp.erpc.call(otp.node(), "global", "send", [Atom("me"), "hi"])
            return sent == otp.self(), await otp.receive(timeout=GUARD)

        assert self.run_visible(main) == (True, "hi")

    def test_send_to_a_name_nobody_holds_exits_with_badarg_as_global_does(self) -> None:
        async def main() -> object:
            with pytest.raises(otp.RemoteExit) as info:
                await otp.erpc.call(otp.node(), "global", "send", [Atom("none"), "hi"])
            return info.value.reason

        assert self.run_visible(main) == (Atom("badarg"), (Atom("none"), "hi"))

    def test_unregister_name_frees_the_name(self) -> None:
        async def main() -> object:
            await Echo.start_link(None, name=otp.Global("freed"))
            done = await otp.erpc.call(otp.node(), "global", "unregister_name", [Atom("freed")])
            return done, otp.whereis(otp.Global("freed"))

        assert self.run_visible(main) == ("ok", None)


VISIBLE_NODE = """
import sys, otp

class Echo(otp.GenServer):
    def handle_call(self, request, from_, state):
        return otp.Reply(("v", request), state)

    def handle_cast(self, request, state):
        print("cast", request, flush=True)
        return otp.NoReply(state)

    def handle_info(self, msg, state):
        print("info", msg, flush=True)
        return otp.NoReply(state)

async def main():
    await Echo.start_link(None, name=otp.Global("v_echo"))
    otp.register("tester", otp.self())
    print("ready", flush=True)
    while True:
        msg = await otp.receive()
        await otp.call("global_name_server", otp.Atom("get_known"))  # it handled what came first
        pid = otp.whereis(otp.Global("h_echo"))
        if msg == "look":
            reply = await otp.call(otp.Global("h_echo"), "from v")
            print("found", pid.node, reply[0], flush=True)
        else:
            print("gone", pid, flush=True)

otp.run(main, node=sys.argv[1], cookie=sys.argv[2], hidden=False)
"""


class TestAVisiblePythonPeer:
    def test_a_hidden_node_registers_and_looks_up_through_a_visible_python_node(self) -> None:
        h, v = f"{unique('h')}@127.0.0.1", f"{unique('v')}@127.0.0.1"

        async def line(proc: asyncio.subprocess.Process) -> list[str]:
            assert proc.stdout is not None
            async with asyncio.timeout(GUARD):
                return (await proc.stdout.readline()).decode().split()

        async def main() -> list[object]:
            async with python_node(VISIBLE_NODE, v, COOKIE) as proc:
                assert await otp.connect(v)
                seen: list[object] = [await otp.call(otp.Global("v_echo"), "from h")]
                with pytest.raises(otp.AlreadyStarted) as info:
                    await Echo.start_link(None, name=otp.Global("v_echo"))
                seen.append(info.value.pid.node == v)
                pid = await Echo.start(None, name=otp.Global("h_echo"))
                assert pid is not None
                otp.cast(otp.Global("v_echo"), "one")
                otp.send(otp.Global("v_echo"), "two")
                otp.send(("tester", v), "look")
                # The server's lines and the tester's interleave as they will; the
                # server's come in the order sent.
                lines = [await line(proc), await line(proc), await line(proc)]
                seen += [
                    [x for x in lines if x[0] != "found"],
                    [x for x in lines if x[0] == "found"],
                ]
                await otp.stop(pid)
                otp.send(("tester", v), "gone")
                seen.append(await line(proc))
                return seen

        assert otp.run(main, node=h, cookie=COOKIE) == [
            ("v", "from h"),
            True,
            [["cast", "one"], ["info", "two"]],
            [["found", h, "echo"]],
            ["gone", "None"],
        ]
