"""`:sys`, multi_call/abcast and undecodable calls between Python and real Erlang/Elixir nodes.

Each test runs a Python node and an `erl` (or `elixir`) node with names of
its own; the Erlang side prints one line per observation, which the test
waits for (`Peer.expect`, with a bound that only guards against hangs).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from erlang_nodes import erl, erlang, run_node, unique

import otp
from otp import Atom

pytestmark = pytest.mark.erlang


class Counter(otp.GenServer):
    """The Python server Erlang's sys inspects: its state is an int."""

    def init(self, arg: object) -> int:
        return 7

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        if request == Atom("inc"):
            return otp.Reply(Atom("ok"), state + 1)
        return otp.Reply((Atom("state"), state), state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int)
        return otp.NoReply(state + 100)


ELIXIR_SERVER = """
defmodule Srv do
  use GenServer
  def init(x), do: {:ok, x}
  def handle_call(:inc, _from, s), do: {:reply, :ok, s + 1}
  def handle_call(req, _from, s), do: {:reply, {:got, req, node()}, s}
  def handle_cast(req, s), do: (IO.puts("cast #{inspect(req)}"); {:noreply, s})
end
{:ok, _} = GenServer.start(Srv, 41, name: :srv)
IO.puts("ready")
Process.sleep(:infinity)
"""


def replace_with_zero(state: object) -> object:
    """A state function that travels pickled (top level, not a lambda)."""
    return 0


class TestErlangSysOnAPythonServer:
    def test_get_state_get_status_and_replace_state(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            S = {counter, $PY},
            io:format("state ~p~n", [sys:get_state(S)]),
            ok = gen_server:call(S, inc),
            io:format("timeout ~p~n", [sys:get_state(S, 60000)]),
            {status, Pid, Mod, [PDict, SysState, Parent, Debug, Misc]} = sys:get_status(S),
            [{header, Header}, {data, Data}, {data, [{"State", State}]}] = Misc,
            io:format("status ~p ~p ~p ~p ~p~n",
                      [is_pid(Pid), Mod, SysState, PDict, Debug]),
            io:format("misc ~s|~p|~p|~p~n", [Header, proplists:get_value("Status", Data),
                                            proplists:get_value("Parent", Data) =:= Parent,
                                            State]),
            {'EXIT', {Failed, _}} = (catch sys:replace_state(S, fun(X) -> X + 1 end)),
            {callback_failed, {gen_server, system_replace_state}, {error, Why}} = Failed,
            io:format("replace ~s~n", [Why]),
            io:format("unknown ~p~n", [sys:change_code(S, counter, old, extra)]),
            io:format("after ~p~n", [sys:get_state(S)]),
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Counter.start(None, name="counter")
            async with erlang(en, code) as peer:
                return [
                    await peer.expect(w)
                    for w in ("state", "timeout", "status", "misc", "replace", "unknown", "after")
                ]

        seen = run_node(main, py)
        assert isinstance(seen, list)
        assert seen[:3] == ["7", "8", "true {module,gen_server} running [] []"]
        assert seen[3] == "Status for generic server counter|running|true|8"
        assert seen[4].startswith("TypeError: a Python node cannot run the Erlang fun")
        assert seen[5:] == ["{error,{unknown_system_msg,{change_code,counter,old,extra}}}", "8"]

    def test_a_call_while_suspended_waits_and_is_answered_after_resume(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            S = {counter, $PY},
            io:format("suspend ~p~n", [sys:suspend(S)]),
            ReqId = gen_server:send_request(S, get),
            {status, _, _, [_, SysState | _]} = sys:get_status(S),
            io:format("status ~p~n", [SysState]),
            %% Sent before the status request, over the same connection: an
            %% answer would be in the mailbox by now.
            receive Early -> io:format("early ~p~n", [Early]) after 0 -> ok end,
            io:format("change ~p~n", [sys:change_code(S, counter, old, extra)]),
            io:format("resume ~p~n", [sys:resume(S)]),
            io:format("reply ~p~n", [gen_server:wait_response(ReqId, 60000)]),
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Counter.start(None, name="counter")
            async with erlang(en, code) as peer:
                got = [await peer.expect(w) for w in ("suspend", "status", "change", "resume")]
                got.append(await peer.expect("reply"))
                assert not any(line.startswith("early") for line in peer.seen)
                return got

        assert run_node(main, py) == ["ok", "suspended", "ok", "ok", "{reply,{state,7}}"]

    def test_statistics_and_trace(self, caplog: pytest.LogCaptureFixture) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            S = {counter, $PY},
            io:format("none ~p~n", [sys:statistics(S, get)]),
            ok = sys:statistics(S, true),
            ok = gen_server:call(S, inc),
            gen_server:cast(S, more),
            {ok, Stats} = sys:statistics(S, get),
            {{_, _, _}, {_, _, _}} = proplists:get_value(start_time, Stats),
            io:format("counts ~p ~p~n", [proplists:get_value(messages_in, Stats),
                                         proplists:get_value(messages_out, Stats)]),
            ok = sys:statistics(S, false),
            io:format("trace ~p~n", [sys:trace(S, true)]),
            ok = gen_server:call(S, inc),
            io:format("untrace ~p~n", [sys:trace(S, false)]),
            io:format("debug ~p ~p~n", [sys:log(S, get), sys:no_debug(S)]),
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Counter.start(None, name="counter")
            async with erlang(en, code) as peer:
                return [await peer.expect(w) for w in ("none", "counts", "trace", "debug")]

        with caplog.at_level(logging.INFO, logger="otp"):
            assert run_node(main, py) == ["{ok,no_statistics}", "2 1", "ok", "{ok,[]} ok"]
        traced = [r.getMessage() for r in caplog.records if r.getMessage().startswith("*DBG*")]
        assert any("got call Atom('inc')" in line for line in traced)
        assert any("new state 109" in line for line in traced)


class TestPythonSysOnAnElixirServer:
    def test_state_status_suspension_statistics_and_errors(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"

        async def main() -> list[object]:
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                srv = ("srv", en)
                seen: list[object] = [await otp.sys.get_state(srv)]
                status = await otp.sys.get_status(srv)
                seen += [status["behaviour"], status["status"], status["state"]]
                await otp.sys.suspend(srv)
                seen.append((await otp.sys.get_status(srv))["status"])
                await otp.sys.resume(srv)
                await otp.sys.statistics(srv, True)
                await otp.call(srv, Atom("inc"))
                stats = await otp.sys.statistics(srv)
                assert stats is not None
                seen += [stats["messages_in"], stats["messages_out"]]
                await otp.sys.statistics(srv, False)
                seen.append(await otp.sys.statistics(srv))
                await otp.sys.trace(srv, True)
                await otp.sys.trace(srv, False)
                pid = status["pid"]
                seen.append(await otp.sys.get_state(pid))
                with pytest.raises(otp.Exit) as failed:
                    await otp.sys.replace_state(srv, replace_with_zero)
                assert isinstance(failed.value.reason, tuple)
                seen.append(failed.value.reason[0])
                with pytest.raises(otp.NoProc):
                    await otp.sys.get_state(("nosuch", en))
                return seen

        assert run_node(main, py) == [
            41,
            "gen_server",
            "running",
            41,
            "suspended",
            1,
            1,
            None,
            42,
            Atom("callback_failed"),
        ]


class TestMultiCallAndAbcast:
    def test_python_multi_call_reaches_a_python_and_an_erlang_node(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"
        gone = f"{unique('gone')}@127.0.0.1"

        async def main() -> list[object]:
            await Counter.start(None, name="srv")
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                assert await otp.connect(en)
                replies, bad = await otp.multi_call("srv", Atom("hi"))
                named = await otp.multi_call("srv", Atom("hi"), nodes=[py, en, gone])
                otp.abcast("srv", Atom("ping"), nodes=[py, en, gone])
                cast = await peer.expect("cast")
                return [replies, bad, named, cast, await otp.sys.get_state("srv")]

        assert run_node(main, py) == [
            [(py, (Atom("state"), 7)), (en, (Atom("got"), Atom("hi"), Atom(en)))],
            [],
            ([(py, (Atom("state"), 7)), (en, (Atom("got"), Atom("hi"), Atom(en)))], [gone]),
            ":ping",
            107,
        ]

    def test_elixir_multi_call_reaches_a_python_server(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"
        code = f"""
        {{replies, bad}} = GenServer.multi_call([:"{py}", :"nowhere@127.0.0.1"], :counter, :inc)
        IO.puts("multi #{{inspect(replies)}} #{{inspect(bad)}}")
        GenServer.abcast([:"{py}"], :counter, :more)
        IO.puts("state #{{inspect(:sys.get_state({{:counter, :"{py}"}}))}}")
        System.halt()
        """

        async def main() -> list[str]:
            await Counter.start(None, name="counter")
            async with erlang(en, code, elixir=True) as peer:
                return [await peer.expect("multi"), await peer.expect("state")]

        assert run_node(main, py) == [
            f'["{py}": :ok] [:"nowhere@127.0.0.1"]',  # a keyword list, as inspect shows it
            "108",
        ]


class TestUndecodableCalls:
    def test_a_call_whose_request_cannot_be_decoded_fails_at_once_with_the_reason(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"
        code = f"""
        server = {{:counter, :"{py}"}}
        try do
          GenServer.call(server, {{:"$otp_pickle", "garbage"}}, 60_000)
        catch
          :exit, {{reason, _}} -> IO.puts("failed #{{inspect(reason)}}")
        end
        IO.puts("alive #{{inspect(GenServer.call(server, :get))}}")
        System.halt()
        """

        async def main() -> tuple[str, str]:
            await Counter.start(None, name="counter")
            async with erlang(en, code, elixir=True) as peer:
                return await peer.expect("failed"), await peer.expect("alive")

        got = run_node(main, py)
        assert isinstance(got, tuple)
        failed, alive = got
        assert failed.startswith('{:undecodable, "could not unpickle')
        assert alive == "{:state, 7}"
