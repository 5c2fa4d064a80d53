"""Erlang's sys requests to a Python server, as a peer sends them: gen_server's answers."""

from __future__ import annotations

import asyncio
import struct

import pytest
from fake_transport import Wire

import otp
from otp import Atom
from otp._runtime._ids import _new_ref
from otp._runtime._node_options import DistOptions
from otp._runtime._scheduler import current_node
from otp.distribution import ImproperList, encode
from otp.distribution._connection import Connection
from otp.distribution._handshake import OUR_FLAGS
from otp.distribution._node import Distribution
from otp.testing import VirtualClock, wait_idle

PEER = "erl@host"


class Holder(otp.GenServer):
    """Its state is what `init` got."""

    def init(self, arg: object) -> object:
        return arg


async def ask(state: object, request: object) -> object:
    """What a server whose state is `state` answers the sys `request` of the peer."""
    node = current_node()
    dist = node.dist = Distribution(node, DistOptions(), b"cookie")
    conn = dist.conns[PEER] = Connection(dist, PEER)
    wire = Wire()
    conn.attach(asyncio.StreamReader(), wire.writer(), OUR_FLAGS)
    await Holder.start(state, name="holder")
    caller = Distribution.pid_hook(dist, PEER, 5, 0, 7)
    tag = ImproperList([Atom("alias")], _new_ref(PEER, 7, (1,)))
    data = b"p" + encode((6, caller, Atom(""), Atom("holder")))
    data += encode((Atom("system"), (caller, tag), request))
    wire.feed_data(struct.pack(">I", len(data)) + data)
    await wait_idle()
    conn.close()
    [(control, payload)] = wire.packets()
    assert isinstance(control, tuple) and control[0] == 33  # ALIAS_SEND
    assert isinstance(payload, tuple)
    return payload[1]


class TestAnswers:
    @pytest.mark.parametrize(
        ("request_", "answer"),
        [
            (Atom("get_state"), 5),
            (Atom("suspend"), Atom("ok")),
            (Atom("nonsense"), (Atom("error"), (Atom("unknown_system_msg"), Atom("nonsense")))),
            ((Atom("debug"), (Atom("log"), Atom("get"))), (Atom("ok"), [])),
            ((Atom("debug"), (Atom("log"), True)), Atom("ok")),
            ((Atom("debug"), (Atom("install"), (1, 2))), Atom("unknown_debug")),
            ((Atom("debug"), Atom("no_debug")), Atom("ok")),
            (
                (Atom("debug"), (Atom("statistics"), Atom("get"))),
                (Atom("ok"), Atom("no_statistics")),
            ),
        ],
        ids=["get_state", "suspend", "unknown", "log get", "log", "install", "no_debug", "stats"],
    )
    def test_each_request_gets_gen_servers_answer(
        self, request_: object, answer: object, clock: VirtualClock
    ) -> None:
        assert clock.run(ask, 5, request_) == answer

    def test_get_status_has_gen_servers_shape(self, clock: VirtualClock) -> None:
        reply = clock.run(ask, {"k": 1}, Atom("get_status"))
        assert isinstance(reply, tuple) and reply[0] == "status"
        _, pid, module, [pdict, sys_state, parent, debug, misc] = reply
        assert module == (Atom("module"), Atom("gen_server")) and pid == parent
        assert (pdict, sys_state, debug) == ([], Atom("running"), [])
        header, data, state = misc
        assert header == (Atom("header"), list(b"Status for generic server holder"))
        assert data[1][0] == (list(b"Status"), Atom("running"))
        assert state == (Atom("data"), [(list(b"State"), {"k": 1})])

    def test_a_state_with_no_erlang_form_is_answered_with_an_error(
        self, clock: VirtualClock
    ) -> None:
        reply = clock.run(ask, lambda: None, Atom("get_state"))
        assert isinstance(reply, tuple) and reply[0] == "error"
        assert reply[1][0] == "unencodable_reply" and "pickling it failed" in reply[1][1]
