"""The observer's view of other nodes: a second Python node, and a real Erlang node."""

from __future__ import annotations

import pytest
from erlang_nodes import COOKIE, erlang, unique
from node_helpers import python_node
from observer_helpers import Client, with_observer
from test_spawn import OTHER

import otp


def test_another_python_node_is_listed_and_read_by_erpc() -> None:
    other = unique("other") + "@127.0.0.1"

    async def main(c: Client) -> object:
        async with python_node(OTHER, other, COOKIE, "*"):
            assert await otp.connect(other)
            nodes = (await c.get("/api/nodes"))[1]
            page = (await c.get("/api/processes", node=other))[1]
            overview = (await c.get("/api/overview", node=other))[1]
            tree = (await c.get("/api/tree", node=other))[1]
            return nodes, page, overview, tree

    nodes, page, overview, tree = with_observer(main, node=unique("py") + "@127.0.0.1")
    row = next(r for r in nodes["nodes"] if r["name"] == other)
    assert row["visible"] is False and row["processes"] >= 1 and row["kind"] == "python"
    assert page["total"] >= 1 and all(r["pid"].startswith("<0.") for r in page["rows"])
    assert overview["node"] == other and overview["kind"] == "python"
    assert tree == {"node": other, "available": True, "roots": []}


@pytest.mark.erlang
def test_an_erlang_node_is_read_through_process_info() -> None:
    en = unique("erl") + "@127.0.0.1"

    async def main(c: Client) -> object:
        async with erlang(en, 'io:format("ready~n"), receive stop -> ok end.') as peer:
            await peer.expect("ready")
            assert await otp.connect(en)
            page = (await c.get("/api/processes", node=en, sort="pid", order="asc"))[1]
            init = (await c.get("/api/process", node=en, pid=page["rows"][0]["pid"]))[1]
            overview = (await c.get("/api/overview", node=en))[1]
            tree = (await c.get("/api/tree", node=en))[1]
            return page, init, overview, tree

    page, init, overview, tree = with_observer(main, node=unique("py") + "@127.0.0.1")
    assert page["total"] > 10
    assert page["rows"][0]["name"] == "init"
    assert init["initial_call"] == "erl_init:start/2" and init["links"]
    assert overview["kind"] == "erlang" and overview["processes"] > 10
    assert tree["available"] is False and "Erlang" in tree["reason"]
