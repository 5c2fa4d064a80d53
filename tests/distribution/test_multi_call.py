"""`otp.multi_call` and `otp.abcast`: one request to a name's server on many nodes."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

import pytest
from fake_transport import Wire
from node_helpers import SERVE, python_node
from node_helpers import unique_node as unique

import otp
from otp import Atom
from otp._runtime._ids import _new_ref
from otp._runtime._node_options import DistOptions
from otp._runtime._scheduler import current_node
from otp.distribution import encode
from otp.distribution._connection import Connection
from otp.distribution._handshake import OUR_FLAGS
from otp.distribution._node import Distribution
from otp.testing import VirtualClock, wait_idle

COOKIE = "multi-call"

OTHER_NODE = (
    """
import asyncio, sys, otp

class Named(otp.GenServer):
    def init(self, arg):
        return arg
    def handle_call(self, request, from_, state):
        if request == "crash":
            raise ValueError("boom")
        if request == "silent":
            return otp.NoReply(state)
        return otp.Reply((state, request), state)
    def handle_cast(self, request, state):
        return otp.NoReply(request)

async def main():
    await Named.start("other", name="srv")
"""
    + SERVE
    + """

otp.run(main, node=sys.argv[1], cookie=sys.argv[2])
"""
)


class Named(otp.GenServer):
    """Answers `(its init argument, request)`; keeps the last cast as its state."""

    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if request == "silent":
            return otp.NoReply(state)
        return otp.Reply((state, request), state)

    def handle_cast(self, request: object, state: object) -> Any:
        return otp.NoReply(request)


def other_node(name: str) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
    return python_node(OTHER_NODE, name, COOKIE)


class TestOnThisNode:
    def test_the_local_node_is_called_by_default(self) -> None:
        async def main() -> object:
            await Named.start("here", name="srv")
            return await otp.multi_call("srv", "hi")

        assert otp.run(main) == ([("nonode@nohost", ("here", "hi"))], [])

    def test_a_node_without_the_server_is_a_bad_node(self) -> None:
        async def main() -> object:
            return await otp.multi_call("nobody", "hi")

        assert otp.run(main) == ([], ["nonode@nohost"])

    def test_a_server_that_does_not_answer_in_time_is_a_bad_node(self) -> None:
        async def main() -> object:
            await Named.start("here", name="srv")
            return await otp.multi_call("srv", "silent", timeout=0.05)

        assert otp.run(main) == ([], ["nonode@nohost"])

    def test_abcast_reaches_the_local_server_and_ignores_missing_ones(self) -> None:
        async def main() -> object:
            await Named.start("here", name="srv")
            otp.abcast("srv", "cast")
            otp.abcast("nobody", "cast")
            return await otp.sys.get_state("srv")

        assert otp.run(main) == "cast"

    @pytest.mark.parametrize(
        "call",
        [
            lambda: otp.multi_call(1, "x"),  # type: ignore[arg-type]
            lambda: otp.multi_call("srv", "x", nodes="a@b"),  # type: ignore[arg-type]
        ],
        ids=["name not a str", "nodes a str"],
    )
    def test_bad_arguments_raise_type_error(self, call: object) -> None:
        async def main() -> None:
            with pytest.raises(TypeError):
                await call()  # type: ignore[operator]

        otp.run(main)


class TestAcrossNodes:
    def test_replies_and_bad_nodes_from_a_second_python_node(self) -> None:
        a, b, gone = unique("a"), unique("b"), unique("gone")

        async def main() -> list[object]:
            await Named.start("here", name="srv")
            async with other_node(b):
                assert await otp.connect(b)
                seen: list[object] = [await otp.multi_call("srv", "hi")]
                seen.append(await otp.multi_call("srv", "hi", nodes=[b, gone, a]))
                seen.append(await otp.multi_call("srv", "silent", nodes=[b], timeout=0.1))
                otp.abcast("srv", "everywhere")
                seen.append(await otp.multi_call("srv", "state?"))
                # b's server dies of the call: b has no server any more.
                seen.append(await otp.multi_call("srv", "crash", nodes=[a, b]))
                otp.abcast("srv", "nowhere", nodes=[gone])
                seen.append(await otp.multi_call("srv", "state?"))
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == [
            ([(a, ("here", "hi")), (b, ("other", "hi"))], []),
            ([(b, ("other", "hi")), (a, ("here", "hi"))], [gone]),
            ([], [b]),
            ([(a, ("everywhere", "state?")), (b, ("everywhere", "state?"))], []),
            ([(a, ("everywhere", "crash"))], [b]),
            ([(a, ("everywhere", "state?"))], [b]),
        ]


class TestErlangsMultiCall:
    def test_a_call_tagged_ref_and_node_is_answered_to_the_callers_pid(
        self, clock: VirtualClock
    ) -> None:
        # gen_server:multi_call sends {'$gen_call', {Pid, {Ref, Node}}, Req}.
        async def main() -> list[tuple[object, ...]]:
            node = current_node()
            dist = node.dist = Distribution(node, DistOptions(), b"cookie")
            conn = dist.conns["erl@host"] = Connection(dist, "erl@host")
            wire = Wire()
            conn.attach(asyncio.StreamReader(), wire.writer(), OUR_FLAGS)
            await Named.start("here", name="srv")
            caller = Distribution.pid_hook(dist, "erl@host", 5, 0, 7)
            tag = (_new_ref("erl@host", 7, (1,)), Atom(node.name))
            data = b"p" + encode((6, caller, Atom(""), Atom("srv")))
            data += encode((Atom("$gen_call"), (caller, tag), "hi"))
            wire.feed_data(struct.pack(">I", len(data)) + data)
            await wait_idle()
            conn.close()
            return wire.packets()

        [(control, payload)] = clock.run(main)
        assert isinstance(control, tuple) and control[0] == 2  # SEND to the caller's pid
        assert isinstance(payload, tuple) and payload[1] == ("here", "hi")
        assert payload[0][1] == "nonode@nohost"
