"""Distributed Python nodes: names, and two nodes talking to each other.

The second node runs in a subprocess (one node per event loop); it prints
`ready` once its servers run and stops when its stdin closes. The system's
epmd (or one this library starts) brings them together.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from node_helpers import SERVE, python_node
from node_helpers import unique_node as unique

import otp
from otp import Atom
from otp._runtime._node_options import full_name

COOKIE = "two-python-nodes"
GUARD = 30.0  # seconds: only ever reached when something hangs

OTHER_NODE = (
    """
import asyncio, sys, otp

class Echo(otp.GenServer):
    def handle_call(self, request, from_, state):
        if request == "crash":
            raise ValueError("boom")
        if request == "pid":
            return otp.Reply(otp.self(), state)
        return otp.Reply(("echo", request), state)
    def handle_cast(self, request, state):
        return otp.NoReply(request)

async def main():
    await Echo.start(None, name="echo")
    await Echo.start(None, name="victim")
"""
    + SERVE
    + """

otp.run(main, node=sys.argv[1], cookie=sys.argv[2])
"""
)


def other_node(name: str) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
    return python_node(OTHER_NODE, name, COOKIE)


class TestNames:
    def test_a_full_name_is_kept(self) -> None:
        assert full_name("py@10.0.0.1") == "py@10.0.0.1"

    def test_a_short_name_gets_this_host(self) -> None:
        assert full_name("py").startswith("py@")

    @pytest.mark.parametrize("bad", ["", "@host", "py@", "a@b@c"])
    def test_a_malformed_name_is_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="name@host"):
            full_name(bad)

    def test_a_non_distributed_node_is_nonode(self) -> None:
        async def main() -> tuple[str, list[str]]:
            return otp.node(), otp.nodes()

        assert otp.run(main) == ("nonode@nohost", [])


class TestTwoPythonNodes:
    def test_a_node_on_uvloop_calls_another_node(self) -> None:
        # uvloop's transports are not asyncio's classes, but a connection takes them over too.
        pytest.importorskip("uvloop")
        a, b = unique("uv"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                seen = [await otp.call(("echo", b), i) for i in range(3)]
                return [*seen, otp.nodes()]

        got = otp.run(main, node=a, cookie=COOKIE, use_uvloop=True)
        assert got == [("echo", 0), ("echo", 1), ("echo", 2), [b]]

    def test_call_cast_send_and_exceptions_travel_intact(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                seen: list[object] = [await otp.call(("echo", b), {"k": (1, 2.5)})]
                otp.cast(("echo", b), "cast-state")
                server = await otp.call(("echo", b), "pid")
                assert isinstance(server, otp.Pid) and server.node == b
                seen.append(None)
                seen.append(await otp.call(server, "again"))
                with pytest.raises(otp.Exit) as crash:
                    await otp.call(("victim", b), "crash")
                seen.append(crash.value.reason)
                with pytest.raises(otp.NoProc):
                    await otp.call(("victim", b), "x")
                seen.append(otp.nodes())
                return seen

        seen = otp.run(main, node=a, cookie=COOKIE)
        assert seen[0] == ("echo", {"k": (1, 2.5)})
        assert seen[2] == ("echo", "again")
        assert isinstance(seen[3], ValueError) and str(seen[3]) == "boom"
        assert seen[4] == [b]

    def test_monitors_links_and_stop_across_nodes(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            otp.trap_exit(True)
            async with other_node(b):
                server = await otp.call(("echo", b), "pid")
                assert isinstance(server, otp.Pid)
                ref = otp.monitor(server)
                otp.link(server)
                otp.unlink(server)
                otp.link(server)
                await otp.stop(("echo", b), "shutdown")
                got = {await otp.receive(timeout=GUARD), await otp.receive(timeout=GUARD)}
                return [got, ref, server]

        got, ref, server = otp.run(main, node=a, cookie=COOKIE)
        assert isinstance(ref, otp.Ref) and isinstance(server, otp.Pid)
        assert got == {otp.Down(ref, server, "shutdown"), otp.Exited(server, "shutdown")}

    def test_a_lost_node_fires_noconnection_and_node_down(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> bool:
            otp.trap_exit(True)
            async with other_node(b) as proc:
                server = await otp.call(("echo", b), "pid")
                assert isinstance(server, otp.Pid)
                ref = otp.monitor(server)
                otp.link(server)
                otp.monitor_node(b)
                proc.kill()
                got = {await otp.receive(timeout=GUARD) for _ in range(3)}
                assert otp.nodes() == []
                return got == {
                    otp.Down(ref, server, "noconnection"),
                    otp.Exited(server, "noconnection"),
                    otp.NodeDown(b),
                }

        assert otp.run(main, node=a, cookie=COOKIE) is True

    def test_disconnect_and_connect_again(self) -> None:
        a, b = unique("a"), unique("b")

        async def main() -> list[object]:
            async with other_node(b):
                seen: list[object] = [await otp.connect(b), otp.nodes()]
                otp.monitor_node(b)
                seen.append(otp.disconnect(b))
                seen.append(await otp.receive(timeout=GUARD))
                seen.append(otp.disconnect(b))
                seen.append(await otp.call(("echo", b), Atom("back")))
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == [
            True,
            [b],
            True,
            otp.NodeDown(b),
            False,
            ("echo", "back"),
        ]

    def test_connect_to_a_node_that_does_not_exist_is_false(self) -> None:
        async def main() -> tuple[bool, object]:
            ghost = unique("ghost")
            otp.monitor_node(ghost)
            return await otp.connect(ghost), await otp.receive(timeout=GUARD)

        ok, down = otp.run(main, node=unique("a"), cookie=COOKIE)
        assert ok is False and isinstance(down, otp.NodeDown)
