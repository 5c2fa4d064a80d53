"""otp.Global against real Erlang and Elixir nodes, and between two Python nodes.

Each test runs a visible Python node and an `erl` or `elixir` node (marked
`erlang`); the Erlang side prints one line per observation and the test waits
for it. Where the Python side must know that its name server has handled
something, it asks that server (`{sync, Nodes}`, `get_known`): a call is
answered only after the messages queued before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from erlang_nodes import COOKIE, GUARD, erl, erlang, unique

import otp
from otp import Atom

pytestmark = pytest.mark.erlang


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply((Atom("echo"), request), state)


async def global_sync(*nodes: str) -> object:
    """This node's `global:sync(Nodes)`: wait until its name server synced with them."""
    request = (Atom("sync"), [Atom(n) for n in nodes])
    return await otp.call("global_name_server", request, timeout=GUARD)


async def served() -> None:
    """Wait until the name server has handled what is queued for it."""
    await otp.call("global_name_server", Atom("get_known"), timeout=GUARD)


Scenario = Callable[[str], Awaitable[object]]


def run_visible(scenario: Scenario) -> object:
    """Run `scenario(py)` in a process of a new visible Python node named `py`."""
    py = f"{unique('py')}@127.0.0.1"

    async def body(done: asyncio.Future[object]) -> None:
        try:
            done.set_result(await scenario(py))
        except BaseException as exc:
            done.set_exception(exc)

    async def main() -> object:
        async with otp.Node(py, cookie=COOKIE, hidden=False):
            done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            otp.spawn(body, done)
            async with asyncio.timeout(GUARD * 2):
                return await done

    return asyncio.run(main())


# An Erlang process that answers gen_server calls (as a gen_server would) until `stop`.
SERVE = """
Serve = fun Loop() ->
    receive
        {'$gen_call', From, Req} -> gen_server:reply(From, {erl, Req}), Loop();
        stop -> ok
    end
end,
"""


class TestSync:
    def test_global_sync_returns_when_the_python_node_connects_first(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            register(tester, self()),
            io:format("up~n"),
            receive go -> ok end,
            io:format("sync ~p~n", [global:sync()]),
            io:format("synced ~p~n", [gen_server:call(global_name_server, get_synced)]),
            timer:sleep(infinity).
            """

        async def scenario(py: str) -> object:
            async with erlang(en, code) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                otp.send(("tester", en), Atom("go"))
                return [await peer.expect("sync"), await peer.expect("synced") == f"['{py}']"]

        assert run_visible(scenario) == ["ok", True]

    def test_global_sync_returns_when_erlang_connects_to_the_python_node(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            code = erl(
                """
                pong = net_adm:ping($PY),
                io:format("sync ~p~n", [global:sync()]),
                io:format("synced ~p~n", [gen_server:call(global_name_server, get_synced)]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                return [await peer.expect("sync"), await peer.expect("synced") == f"['{py}']"]

        assert run_visible(scenario) == ["ok", True]

    def test_the_python_side_syncs_with_the_erlang_node_too(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            code = erl('pong = net_adm:ping($PY), io:format("up~n"), timer:sleep(infinity).', PY=py)
            async with erlang(en, code) as peer:
                await peer.expect("up")
                synced = await global_sync(en)
                return synced, await otp.call("global_name_server", Atom("get_synced"))

        assert run_visible(scenario) == ("ok", [Atom(en)])


class TestNamesOfPython:
    def test_erlang_finds_and_calls_a_python_server_by_its_global_name(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            pid = await Echo.start_link(None, name=otp.Global("py_echo"))
            code = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                Pid = global:whereis_name(py_echo),
                io:format("node ~p~n", [node(Pid)]),
                io:format("call ~p~n", [gen_server:call({global, py_echo}, hello)]),
                io:format("names ~p~n", [global:registered_names()]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                node = await peer.expect("node")
                return [node == f"'{py}'", await peer.expect("call"), await peer.expect("names")]
            del pid

        assert run_visible(scenario) == [True, "{echo,hello}", "[py_echo]"]

    def test_a_name_registered_after_the_sync_reaches_erlang_at_once(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            code = erl(
                """
                register(tester, self()),
                pong = net_adm:ping($PY),
                ok = global:sync(),
                io:format("synced~n"),
                receive registered -> ok end,
                io:format("call ~p~n", [gen_server:call({global, late}, hi)]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                await peer.expect("synced")
                await global_sync(en)
                await Echo.start_link(None, name=otp.Global("late"))
                otp.send(("tester", en), Atom("registered"))
                return await peer.expect("call")

        assert run_visible(scenario) == "{echo,hi}"

    def test_a_python_holder_that_exits_loses_its_name_on_erlang(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            pid = await Echo.start(None, name=otp.Global("short_lived"))
            assert pid is not None
            code = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                Pid = global:whereis_name(short_lived),
                Ref = monitor(process, Pid),
                io:format("before ~p~n", [is_pid(Pid)]),
                receive {'DOWN', Ref, process, _, Why} -> io:format("down ~p~n", [Why]) end,
                _ = sys:get_state(global_name_server),
                io:format("after ~p~n", [global:whereis_name(short_lived)]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                seen = [await peer.expect("before")]
                await otp.stop(pid)
                seen += [await peer.expect("down"), await peer.expect("after")]
                return seen

        assert run_visible(scenario) == ["true", "normal", "undefined"]

    def test_erlang_cannot_take_a_name_a_python_process_holds(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            await Echo.start_link(None, name=otp.Global("mine"))
            code = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                io:format("register ~p~n", [global:register_name(mine, self())]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                return await peer.expect("register")

        assert run_visible(scenario) == "no"


class TestNamesOfErlang:
    def test_python_calls_an_erlang_server_registered_with_global(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = (
            SERVE
            + """
            yes = global:register_name(erl_server, self()),
            io:format("registered~n"),
            Serve().
            """
        )

        async def scenario(py: str) -> object:
            async with erlang(en, code) as peer:
                await peer.expect("registered")
                assert await otp.connect(en)
                await global_sync(en)
                pid = otp.whereis(otp.Global("erl_server"))
                assert pid is not None
                reply = await otp.call(otp.Global(Atom("erl_server")), "q")
                return pid.node == en, reply

        assert run_visible(scenario) == (True, (Atom("erl"), "q"))

    def test_a_python_start_under_an_erlang_name_fails_with_the_erlang_holder(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            yes = global:register_name(taken, self()),
            io:format("registered~n"),
            timer:sleep(infinity).
            """

        async def scenario(py: str) -> object:
            async with erlang(en, code) as peer:
                await peer.expect("registered")
                assert await otp.connect(en)
                await global_sync(en)
                with pytest.raises(otp.AlreadyStarted) as info:
                    await Echo.start_link(None, name=otp.Global("taken"))
                return info.value.pid == otp.whereis(otp.Global("taken")), info.value.pid.node

        assert run_visible(scenario) == (True, en)

    def test_the_names_of_a_node_that_goes_down_disappear(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            yes = global:register_name(doomed, self()),
            io:format("registered~n"),
            timer:sleep(infinity).
            """

        async def scenario(py: str) -> object:
            async with erlang(en, code) as peer:
                await peer.expect("registered")
                assert await otp.connect(en)
                await global_sync(en)
                before = otp.whereis(otp.Global("doomed")) is not None
                otp.monitor_node(en)
                await peer.kill()
                await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.NodeDown))
                await served()
                return before, otp.whereis(otp.Global("doomed"))

        assert run_visible(scenario) == (True, None)

    def test_erlang_forgets_the_names_of_a_python_node_that_disconnects(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            await Echo.start_link(None, name=otp.Global("leaving"))
            code = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                monitor_node($PY, true),
                io:format("before ~p~n", [is_pid(global:whereis_name(leaving))]),
                receive {nodedown, _} -> ok end,
                _ = sys:get_state(global_name_server),
                io:format("after ~p~n", [global:whereis_name(leaving)]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                seen = [await peer.expect("before")]
                otp.disconnect(en)
                seen.append(await peer.expect("after"))
                return seen

        assert run_visible(scenario) == ["true", "undefined"]


class TestElixir:
    def test_elixir_reaches_a_python_server_through_global(self) -> None:
        ex = f"{unique('ex')}@127.0.0.1"

        async def scenario(py: str) -> object:
            await Echo.start_link(None, name=otp.Global("py_echo"))
            code = f"""
                true = Node.connect(:"{py}")
                :ok = :global.sync()
                pid = :global.whereis_name(:py_echo)
                IO.puts("node #{{node(pid) == :"{py}"}}")
                IO.puts("call #{{inspect(GenServer.call({{:global, :py_echo}}, :hello))}}")
                Process.sleep(:infinity)
                """
            async with erlang(ex, code, elixir=True) as peer:
                return [await peer.expect("node"), await peer.expect("call")]

        assert run_visible(scenario) == ["true", "{:echo, :hello}"]

    def test_python_calls_an_elixir_server_registered_with_global(self) -> None:
        ex = f"{unique('ex')}@127.0.0.1"
        code = """
            defmodule ExEcho do
              use GenServer
              def init(arg), do: {:ok, arg}
              def handle_call(request, _from, state), do: {:reply, {:ex, request}, state}
            end
            {:ok, _} = GenServer.start_link(ExEcho, nil, name: {:global, :ex_echo})
            IO.puts("registered")
            Process.sleep(:infinity)
            """

        async def scenario(py: str) -> object:
            async with erlang(ex, code, elixir=True) as peer:
                await peer.expect("registered")
                assert await otp.connect(ex)
                await global_sync(ex)
                return await otp.call(otp.Global("ex_echo"), "hi")

        assert run_visible(scenario) == (Atom("ex"), "hi")


class TestThreeNodes:
    def test_a_second_erlang_node_syncs_with_the_python_node_through_the_first(self) -> None:
        e1, e2 = f"{unique('erla')}@127.0.0.1", f"{unique('erlb')}@127.0.0.1"

        async def scenario(py: str) -> object:
            await Echo.start_link(None, name=otp.Global("py_echo"))
            first = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                yes = global:register_name(first, self()),
                io:format("ready~n"),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            second = erl(
                """
                pong = net_adm:ping($E1),
                ok = global:sync(),
                io:format("call ~p~n", [gen_server:call({global, py_echo}, hi)]),
                io:format("again ~p ~p~n", [global:sync(), lists:member($PY, nodes())]),
                yes = global:register_name(second, self()),
                io:format("registered~n"),
                timer:sleep(infinity).
                """,
                E1=e1,
                PY=py,
            )
            async with erlang(e1, first) as peer1:
                await peer1.expect("ready")
                async with erlang(e2, second) as peer2:
                    seen: list[object] = [await peer2.expect("call"), await peer2.expect("again")]
                    await peer2.expect("registered")
                    await global_sync(e1, e2)
                    for name, node in (("first", e1), ("second", e2)):
                        pid = otp.whereis(otp.Global(name))
                        seen.append(pid is not None and pid.node == node)
                    return seen

        assert run_visible(scenario) == ["{echo,hi}", "ok true", True, True]

    def test_the_python_node_leaves_when_erlang_drops_it_from_its_partition(self) -> None:
        # The Python node cuts its link to E2; E2 tells E1, whose global
        # (prevent_overlapping_partitions) asks the Python node to disconnect: it
        # does, so E1's global:sync() does not wait on a node it no longer syncs.
        e1, e2 = f"{unique('erla')}@127.0.0.1", f"{unique('erlb')}@127.0.0.1"

        async def scenario(py: str) -> object:
            first = erl(
                """
                pong = net_adm:ping($PY),
                ok = global:sync(),
                monitor_node($PY, true),
                io:format("ready~n"),
                receive {nodedown, _} -> ok end,
                io:format("sync ~p~n", [global:sync()]),
                timer:sleep(infinity).
                """,
                PY=py,
            )
            second = erl(
                """
                pong = net_adm:ping($E1),
                pong = net_adm:ping($PY),
                ok = global:sync(),
                io:format("ready~n"),
                timer:sleep(infinity).
                """,
                E1=e1,
                PY=py,
            )
            async with erlang(e1, first) as peer1:
                await peer1.expect("ready")
                async with erlang(e2, second) as peer2:
                    await peer2.expect("ready")
                    await global_sync(e1, e2)
                    otp.monitor_node(e1)
                    otp.disconnect(e2)
                    await otp.receive(timeout=GUARD, match=lambda m: m == otp.NodeDown(e1))
                    return await peer1.expect("sync")

        assert run_visible(scenario) == "ok"


class TestClashes:
    def test_a_name_held_on_both_sides_when_they_meet_goes_to_the_lesser_node(self) -> None:
        # Erlang's global:random_exit_name/3: the holder on the greater node
        # ('py...' > 'erl...') is killed and the name is the Erlang holder's.
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            yes = global:register_name(both, self()),
            io:format("registered~n"),
            timer:sleep(infinity).
            """

        async def scenario(py: str) -> object:
            pid = await Echo.start(None, name=otp.Global("both"))
            assert pid is not None
            ref = otp.monitor(pid)
            async with erlang(en, code) as peer:
                await peer.expect("registered")
                assert await otp.connect(en)
                await global_sync(en)
                down = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Down))
                holder = otp.whereis(otp.Global("both"))
                return down == otp.Down(ref, pid, "killed"), holder is not None and holder.node

        assert run_visible(scenario) == (True, en)

    def test_the_python_node_resolves_a_clash_when_its_name_is_the_lesser(self) -> None:
        # 'py...' < 'zerl...': the Python side resolves, keeps its own holder and
        # kills the Erlang one, as random_exit_name/3 would.
        en = f"{unique('zerl')}@127.0.0.1"
        code = """
            Holder = spawn(fun() -> receive after infinity -> ok end end),
            yes = global:register_name(both, Holder),
            Ref = monitor(process, Holder),
            io:format("registered~n"),
            receive {'DOWN', Ref, process, _, Why} -> io:format("down ~p~n", [Why]) end,
            ok = global:sync(),
            io:format("holder ~p~n", [node(global:whereis_name(both))]),
            timer:sleep(infinity).
            """

        async def scenario(py: str) -> object:
            pid = await Echo.start(None, name=otp.Global("both"))
            async with erlang(en, code) as peer:
                await peer.expect("registered")
                assert await otp.connect(en)
                seen = [await peer.expect("down"), await peer.expect("holder") == f"'{py}'"]
                return seen, otp.whereis(otp.Global("both")) == pid

        assert run_visible(scenario) == (["killed", True], True)


class TestLookups:
    def test_the_whereis_message_of_older_nodes_is_answered(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def scenario(py: str) -> object:
            await Echo.start_link(None, name=otp.Global("asked"))
            code = erl(
                """
                Tag = make_ref(),
                {global_name_server, $PY} ! {whereis, asked, {self(), Tag}},
                receive {Tag, Pid} -> io:format("found ~p~n", [node(Pid)]) end,
                {global_name_server, $PY} ! {whereis, nobody, {self(), Tag}},
                receive {Tag, Other} -> io:format("other ~p~n", [Other]) end,
                timer:sleep(infinity).
                """,
                PY=py,
            )
            async with erlang(en, code) as peer:
                return await peer.expect("found") == f"'{py}'", await peer.expect("other")

        assert run_visible(scenario) == (True, "undefined")
