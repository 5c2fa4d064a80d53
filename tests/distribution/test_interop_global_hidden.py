"""otp.Global on a hidden Python node, through the global server of Erlang and Elixir nodes.

Each test runs a hidden Python node (the default) connected to an `erl` or
`elixir` node (marked `erlang`), which serves as its global peer. The Erlang
side prints one line per observation and the test waits for it; where
Erlang must act after Python did, Python sends `go` to its `tester`.
"""

from __future__ import annotations

from typing import Any

import pytest
from erlang_nodes import COOKIE, GUARD, erlang, unique

import otp
from otp import Atom

pytestmark = pytest.mark.erlang


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply((Atom("echo"), request), state)


def run_hidden(main: object) -> object:
    py = f"{unique('py')}@127.0.0.1"
    return otp.run(main, node=py, cookie=COOKIE)  # type: ignore[arg-type]


# An Erlang process registered as `erl_srv` with global: answers calls, prints casts
# and plain messages, until `stop`.
SERVE = """
Serve = fun Loop() ->
    receive
        {'$gen_call', From, Req} -> gen_server:reply(From, {erl, Req}), Loop();
        {'$gen_cast', Req} -> io:format("cast ~p~n", [Req]), Loop();
        stop -> ok;
        Msg -> io:format("got ~p~n", [Msg]), Loop()
    end
end,
yes = global:register_name(erl_srv, self()),
io:format("up~n"),
Serve().
"""


class TestNamesOfTheHiddenNode:
    def test_erlang_finds_and_calls_a_python_server_of_a_hidden_node(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            register(tester, self()),
            io:format("up~n"),
            receive go -> ok end,
            Pid = global:whereis_name(py_srv),
            io:format("node ~p~n", [node(Pid)]),
            io:format("call ~p~n", [gen_server:call({global, py_srv}, hello)]),
            io:format("names ~p~n", [global:registered_names()]),
            timer:sleep(infinity).
            """

        async def main() -> object:
            async with erlang(en, code) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                await Echo.start_link(None, name=otp.Global("py_srv"))
                otp.send(("tester", en), Atom("go"))
                node = await peer.expect("node")
                return [
                    node == f"'{otp.node()}'",
                    await peer.expect("call"),
                    await peer.expect("names"),
                ]

        assert run_hidden(main) == [True, "{echo,hello}", "[py_srv]"]

    def test_elixir_calls_a_python_server_of_a_hidden_node_by_its_global_name(self) -> None:
        en = f"{unique('ex')}@127.0.0.1"
        code = """
            Process.register(self(), :tester)
            IO.puts("up")
            receive do: (:go -> :ok)
            IO.puts("call #{inspect(GenServer.call({:global, :py_ex}, :hi))}")
            Process.sleep(:infinity)
            """

        async def main() -> object:
            async with erlang(en, code, elixir=True) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                await Echo.start_link(None, name=otp.Global("py_ex"))
                otp.send(("tester", en), Atom("go"))
                return await peer.expect("call")

        assert run_hidden(main) == "{:echo, :hi}"

    def test_a_name_erlang_holds_fails_with_the_erlang_holder(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def main() -> object:
            async with erlang(en, SERVE) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                with pytest.raises(otp.AlreadyStarted) as info:
                    await Echo.start_link(None, name=otp.Global("erl_srv"))
                return info.value.pid.node == en, otp.whereis(otp.Global("erl_srv"))

        assert run_hidden(main) == (True, None)

    def test_the_python_server_exiting_frees_its_name_on_erlang(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            register(tester, self()),
            io:format("up~n"),
            receive go -> ok end,
            Pid = global:whereis_name(short),
            Ref = monitor(process, Pid),
            io:format("before ~p~n", [node(Pid) =/= node()]),
            receive {'DOWN', Ref, process, _, Why} -> io:format("down ~p~n", [Why]) end,
            _ = sys:get_state(global_name_server),
            io:format("after ~p~n", [global:whereis_name(short)]),
            timer:sleep(infinity).
            """

        async def main() -> object:
            async with erlang(en, code) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                pid = await Echo.start(None, name=otp.Global("short"))
                assert pid is not None
                otp.send(("tester", en), Atom("go"))
                seen = [await peer.expect("before")]
                await otp.stop(pid)
                return [*seen, await peer.expect("down"), await peer.expect("after")]

        assert run_hidden(main) == ["true", "normal", "undefined"]

    def test_erlang_forgets_the_names_of_a_hidden_node_that_disconnects(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"
        code = """
            register(tester, self()),
            io:format("up~n"),
            receive {go, From} -> ok end,
            Pid = global:whereis_name(gone),
            Ref = monitor(process, Pid),
            io:format("before ~p~n", [is_pid(Pid)]),
            true = erlang:disconnect_node(node(From)),
            receive {'DOWN', Ref, process, _, Why} -> io:format("down ~p~n", [Why]) end,
            _ = sys:get_state(global_name_server),
            io:format("after ~p~n", [global:whereis_name(gone)]),
            timer:sleep(infinity).
            """

        async def main() -> object:
            async with erlang(en, code) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                await Echo.start_link(None, name=otp.Global("gone"))
                otp.send(("tester", en), (Atom("go"), otp.self()))
                seen = [await peer.expect("before"), await peer.expect("down")]
                return [*seen, await peer.expect("after")]

        assert run_hidden(main) == ["true", "noconnection", "undefined"]


class TestNamesOfErlang:
    def test_python_calls_an_erlang_server_registered_with_global(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def main() -> object:
            async with erlang(en, SERVE) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                return await otp.call(otp.Global("erl_srv"), "hi", timeout=GUARD)

        assert run_hidden(main) == (Atom("erl"), "hi")

    def test_casts_and_sends_reach_the_erlang_server_in_the_order_sent(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def main() -> object:
            async with erlang(en, SERVE) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                otp.cast(otp.Global("erl_srv"), Atom("one"))
                otp.send(otp.Global("erl_srv"), Atom("two"))
                otp.cast(otp.Global("erl_srv"), Atom("three"))
                return [
                    await peer.expect("cast"),
                    await peer.expect("got"),
                    await peer.expect("cast"),
                ]

        assert run_hidden(main) == ["one", "two", "three"]

    def test_stop_reaches_an_elixir_agent_by_its_global_name(self) -> None:
        en = f"{unique('ex')}@127.0.0.1"
        code = """
            {:ok, pid} = Agent.start(fn -> 0 end, name: {:global, :agent})
            ref = Process.monitor(pid)
            IO.puts("up")
            receive do: ({:DOWN, ^ref, :process, _, why} -> IO.puts("down #{inspect(why)}"))
            Process.sleep(:infinity)
            """

        async def main() -> object:
            async with erlang(en, code, elixir=True) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                await otp.stop(otp.Global("agent"), "bye", timeout=GUARD)
                return await peer.expect("down")

        assert run_hidden(main) == ":bye"

    def test_a_name_nobody_holds_is_noproc_for_call_and_dropped_for_cast(self) -> None:
        en = f"{unique('erl')}@127.0.0.1"

        async def main() -> object:
            async with erlang(en, SERVE) as peer:
                await peer.expect("up")
                assert await otp.connect(en)
                otp.cast(otp.Global("nobody"), Atom("lost"))
                otp.send(otp.Global("nobody"), Atom("lost"))
                with pytest.raises(otp.NoProc):
                    await otp.call(otp.Global("nobody"), "hi", timeout=GUARD)
                return await otp.call(otp.Global("erl_srv"), "still", timeout=GUARD)

        assert run_hidden(main) == (Atom("erl"), "still")
