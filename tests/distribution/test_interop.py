"""Interoperability with real Erlang and Elixir nodes, started as subprocesses.

Each test runs a Python node and an `erl` (or `elixir`) node with names of
its own, so tests never collide on epmd. The Erlang side runs a scenario
and prints one line per observation; the test waits for those lines (with
generous upper bounds that only guard against hangs) and kills the
subprocess whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from erlang_nodes import COOKIE, GUARD, erl, erlang, run_node, unique

import otp
from otp import Atom
from otp._runtime._scheduler import current_node
from otp.distribution._handshake import OUR_FLAGS, HandshakeError, initiate
from otp.distribution._node import Distribution

pytestmark = pytest.mark.erlang


class Echo(otp.GenServer):
    """The Python server the Erlang side calls."""

    def init(self, arg: object) -> list[object]:
        return []

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        match request:
            case "crash":
                raise ValueError("boom")
            case "stop":
                return otp.Stop("normal", state, reply=Atom("stopping"))
            case "casts":
                return otp.Reply(state, state)
            case "pid":
                return otp.Reply(otp.self(), state)
            case _:
                return otp.Reply((Atom("echo"), request), state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, list)
        return otp.NoReply([*state, request])


ELIXIR_SERVER = """
defmodule Srv do
  use GenServer
  def init(x), do: {:ok, x}
  def handle_call(:crash, _from, _s), do: raise "kaboom"
  def handle_call(:slow, _from, s), do: (Process.sleep(300); {:reply, :late, s})
  def handle_call(:pid, _from, s), do: {:reply, self(), s}
  def handle_call(req, _from, s), do: {:reply, {:got, req}, s}
  def handle_cast(req, s), do: (IO.puts("cast #{inspect(req)}"); {:noreply, s})
end
{:ok, _} = GenServer.start(Srv, 0, name: :srv)
IO.puts("ready")
Process.sleep(:infinity)
"""


class TestHandshake:
    def test_erlang_pings_python_and_python_connects_to_erlang(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)

        async def main() -> tuple[str, bool, list[str]]:
            async with erlang(en, code) as peer:
                pong = await peer.expect("ping")
                otp.disconnect(en)
                return pong, await otp.connect(en), otp.nodes()

        assert run_node(main, py) == ("pong", True, [en])

    def test_short_names_connect(self) -> None:
        py, en = f"{unique('py')}@localhost", unique("erl")
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), halt().', PY=py)

        async def main() -> str:
            async with erlang(en, code, short=True) as peer:
                return await peer.expect("ping")

        assert run_node(main, py) == "pong"

    def test_a_wrong_cookie_is_refused_both_ways(self, caplog: pytest.LogCaptureFixture) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)

        async def main() -> tuple[str, bool]:
            async with erlang(en, code, cookie="not-the-cookie") as peer:
                pang = await peer.expect("ping")
                return pang, await otp.connect(en)

        with caplog.at_level(logging.INFO, logger="otp"):
            assert run_node(main, py) == ("pang", False)
        assert any("wrong cookie" in r.getMessage() or "cookie" in r.getMessage()
                   for r in caplog.records)  # fmt: skip
        assert all("not-the-cookie" not in r.getMessage() for r in caplog.records)
        assert all(COOKIE not in r.getMessage() for r in caplog.records)

    def test_a_stranger_with_a_wrong_cookie_cannot_cut_a_live_connection(self) -> None:
        # Someone who does not know the cookie connects to the Python node
        # claiming the name of the Erlang node it is connected to.
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            pong = net_adm:ping($PY),
            monitor_node($PY, true),
            register(watch, self()),
            io:format("up~n"),
            receive
                {nodedown, _} -> io:format("nodedown~n");
                {still, From} -> From ! {still, here}, io:format("still up~n")
            end,
            timer:sleep(infinity).
            """,
            PY=py,
        )

        async def main() -> list[object]:
            async with erlang(en, code) as peer:
                await peer.expect("up")
                otp.monitor_node(en)
                dist = current_node().dist
                assert isinstance(dist, Distribution)
                reader, writer = await asyncio.open_connection("127.0.0.1", dist.port)
                try:
                    with pytest.raises((HandshakeError, asyncio.IncompleteReadError)):
                        await initiate(reader, writer, en, 1234, b"wrong", OUR_FLAGS)
                finally:
                    writer.close()
                otp.send(("watch", en), (Atom("still"), otp.self()))
                return [await peer.expect("still"), await otp.receive(timeout=GUARD), otp.nodes()]

        assert run_node(main, py) == ["up", (Atom("still"), Atom("here")), [en]]


class TestErlangCallsPython:
    def test_call_cast_noproc_and_crash(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            io:format("call ~p~n", [gen_server:call({echo, $PY}, hello)]),
            gen_server:cast({echo, $PY}, {hi, 1}),
            io:format("casts ~p~n", [gen_server:call({echo, $PY}, <<"casts">>)]),
            {'EXIT', {R1, _}} = (catch gen_server:call({nope, $PY}, hello)),
            io:format("noproc ~p~n", [R1]),
            {'EXIT', {{Tag, Class, Message, _}, _}} =
                (catch gen_server:call({echo, $PY}, <<"crash">>)),
            io:format("crash ~p ~s ~s~n", [Tag, Class, Message]),
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Echo.start(None, name="echo")
            async with erlang(en, code) as peer:
                return [await peer.expect(w) for w in ("call", "casts", "noproc", "crash")]

        assert run_node(main, py) == [
            "{echo,hello}",
            "[{hi,1}]",
            "noproc",
            "'$otp_exception' ValueError boom",
        ]

    def test_calls_with_odd_tags_are_answered_as_gen_reply_would(self) -> None:
        # Each tag shape gen:reply/2 knows, sent by hand; a From that is not
        # {Pid, Tag} reaches handle_info, and the server carries on.
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            S = {echo, $PY},
            Wait = fun(What) ->
                receive M -> io:format("~s ~p~n", [What, M])
                after 5000 -> io:format("~s none~n", [What]) end
            end,
            S ! {'$gen_call', {self(), []}, hi},
            Wait("empty"),
            S ! {'$gen_call', {self(), make_ref()}, hi},
            Wait("ref"),
            A = alias(),
            S ! {'$gen_call', {self(), [[alias | A], extra]}, hi},
            receive {[[alias | A], extra], R3} -> io:format("alias ~p~n", [R3]) end,
            S ! {'$gen_call', not_a_from, hi},
            io:format("alive ~p~n", [gen_server:call(S, hi)]),
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Echo.start(None, name="echo")
            async with erlang(en, code) as peer:
                return [await peer.expect(w) for w in ("empty", "ref", "alias", "alive")]

        seen = run_node(main, py)
        assert isinstance(seen, list) and seen[0] == "{[],{echo,hi}}"
        assert seen[1].startswith("{#Ref<") and seen[1].endswith(",{echo,hi}}")
        assert seen[2:] == ["{echo,hi}", "{echo,hi}"]

    def test_elixir_calls_a_python_gen_server(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"
        code = f"""
        IO.puts("call #{{inspect(GenServer.call({{:echo, :"{py}"}}, [1, 2.5, "text"]))}}")
        System.halt()
        """

        async def main() -> str:
            await Echo.start(None, name="echo")
            async with erlang(en, code, elixir=True) as peer:
                return await peer.expect("call")

        assert run_node(main, py) == '{:echo, [1, 2.5, "text"]}'

    def test_elixir_stops_a_python_gen_server(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"
        code = f"""
        server = {{:echo, :"{py}"}}
        ref = Process.monitor(server)
        IO.puts("stop #{{inspect(GenServer.stop(server))}}")
        receive do
          {{:DOWN, ^ref, _, _, reason}} -> IO.puts("down #{{inspect(reason)}}")
        end
        System.halt()
        """

        async def main() -> list[str]:
            await Echo.start(None, name="echo")
            async with erlang(en, code, elixir=True) as peer:
                return [await peer.expect("stop"), await peer.expect("down")]

        assert run_node(main, py) == [":ok", ":normal"]

    def test_monitor_and_link_see_normal_crash_and_noconnection(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            process_flag(trap_exit, true),
            M1 = erlang:monitor(process, {echo, $PY}),
            io:format("stop ~p~n", [gen_server:call({echo, $PY}, <<"stop">>)]),
            receive {'DOWN', M1, process, _, R1} -> io:format("down ~p~n", [R1]) end,
            Pid = gen_server:call({echo2, $PY}, <<"pid">>),
            link(Pid),
            catch gen_server:call(Pid, <<"crash">>),
            receive {'EXIT', Pid, {T, C, _, _}} -> io:format("exit ~p ~s~n", [T, C]) end,
            M3 = erlang:monitor(process, {echo3, $PY}),
            io:format("monitoring~n"),
            receive {'DOWN', M3, process, _, R3} -> io:format("lost ~p~n", [R3]) end,
            M4 = erlang:monitor(process, {nope, $PY}),
            receive {'DOWN', M4, process, _, R4} -> io:format("missing ~p~n", [R4]) end,
            halt().
            """,
            PY=py,
        )

        async def main() -> list[str]:
            await Echo.start(None, name="echo")
            await Echo.start(None, name="echo2")
            await Echo.start(None, name="echo3")
            async with erlang(en, code) as peer:
                seen = [await peer.expect(w) for w in ("stop", "down", "exit")]
                await peer.expect("monitoring")
                assert otp.disconnect(en)
                seen.append(await peer.expect("lost"))
                seen.append(await peer.expect("missing"))
                return seen

        assert run_node(main, py) == [
            "stopping",
            "normal",
            "'$otp_exception' ValueError",
            "noconnection",
            "noproc",
        ]


class TestPythonCallsErlang:
    def test_call_cast_noproc_timeout_and_crash(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"

        async def main() -> list[object]:
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                seen: list[object] = [await otp.call(("srv", en), {"a": [1, 2.5, "x"]})]
                otp.cast(("srv", en), Atom("ping"))
                seen.append(await peer.expect("cast"))
                with pytest.raises(otp.NoProc):
                    await otp.call(("nosuch", en), 1)
                with pytest.raises(otp.CallTimeout):
                    await otp.call(("srv", en), Atom("slow"), timeout=0.05)
                # The late reply to the timed-out call never reaches the mailbox.
                seen.append(await otp.call(("srv", en), Atom("after")))
                with pytest.raises(TimeoutError):
                    await otp.receive(timeout=0)
                with pytest.raises(otp.Exit) as crash:
                    await otp.call(("srv", en), Atom("crash"))
                reason = crash.value.reason
                assert isinstance(reason, tuple) and isinstance(reason[0], dict)
                seen.append(reason[0][Atom("message")])
                return seen

        assert run_node(main, py) == [
            (Atom("got"), {"a": [1, 2.5, "x"]}),
            ":ping",
            (Atom("got"), Atom("after")),
            "kaboom",
        ]

    def test_a_call_that_times_out_leaves_the_node_running_and_drops_late_replies(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = """
            Silent = spawn(fun() ->
                receive {'$gen_call', {Pid, Tag} = From, Req} ->
                    Big = binary_to_integer(<<"1", (binary:copy(<<"0">>, 5000))/binary>>),
                    io:format("got ~p~n", [Req =:= Big]),
                    receive late -> ok end,
                    Pid ! {Tag, late},
                    gen:reply(From, late),
                    Pid ! done
                end
            end),
            register(silent, Silent),
            io:format("ready~n"),
            timer:sleep(infinity).
            """

        async def main() -> list[object]:
            async with erlang(en, code) as peer:
                await peer.expect("ready")
                with pytest.raises(otp.CallTimeout):
                    await otp.call(("silent", en), 10**5000, timeout=0.1)
                got = await peer.expect("got")
                otp.send(("silent", en), Atom("late"))
                # The late replies come before "done", if they come at all.
                return [got, await otp.receive(timeout=GUARD), otp.nodes()]

        assert run_node(main, py) == ["true", "done", [en]]

    def test_calls_by_pid_and_stop(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"

        async def main() -> object:
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                pid = await otp.call(("srv", en), Atom("pid"))
                assert isinstance(pid, otp.Pid) and pid.node == en
                got = await otp.call(pid, 7)
                ref = otp.monitor(pid)
                await otp.stop(pid, "normal")
                down = await otp.receive(timeout=GUARD)
                assert down == otp.Down(ref, pid, "normal")
                with pytest.raises(otp.NoProc):
                    await otp.call(pid, 8)
                return got

        assert run_node(main, py) == (Atom("got"), 7)


class TestLinksMonitorsExits:
    def test_link_and_exit_signals_to_an_erlang_process(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            register(waiter, self()),
            io:format("ready~n"),
            receive {From, go} -> Pid = spawn(fun() -> receive X -> exit(X) end end),
                                  From ! {pid, Pid} end,
            timer:sleep(infinity).
            """
        )

        async def main() -> list[object]:
            otp.trap_exit(True)
            async with erlang(en, code) as peer:
                await peer.expect("ready")
                otp.send(("waiter", en), (otp.self(), Atom("go")))
                msg = await otp.receive(timeout=GUARD)
                assert isinstance(msg, tuple)
                pid = msg[1]
                otp.link(pid)
                otp.send(pid, Atom("my_reason"))
                exited = await otp.receive(timeout=GUARD)
                # Monitoring the process that is now gone: the Erlang node says noproc.
                ref = otp.monitor(pid)
                down = await otp.receive(timeout=GUARD)
                return [exited, down == otp.Down(ref, pid, "noproc")]

        seen = run_node(main, py)
        assert isinstance(seen, list)
        assert seen[0] == otp.Exited(seen[0].pid, "my_reason")
        assert seen[1] is True

    def test_a_killed_erlang_node_is_noticed(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"

        async def main() -> list[object]:
            otp.trap_exit(True)
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                pid = await otp.call(("srv", en), Atom("pid"))
                assert isinstance(pid, otp.Pid)
                ref = otp.monitor(pid)
                otp.link(pid)
                otp.monitor_node(en)
                call = asyncio.ensure_future(otp.call(("srv", en), Atom("slow"), timeout=GUARD))
                await peer.kill()
                got = {type(await otp.receive(timeout=GUARD)) for _ in range(3)}
                with pytest.raises(otp.NoConnection):
                    await call
                assert otp.nodes() == []
                return [got, ref]

        seen = run_node(main, py)
        assert isinstance(seen, list)
        assert seen[0] == {otp.Down, otp.Exited, otp.NodeDown}


class TestMonitorByRemoteName:
    def test_a_remote_name_is_monitored_and_its_exit_seen(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('ex')}@127.0.0.1"

        async def main() -> list[object]:
            async with erlang(en, ELIXIR_SERVER, elixir=True) as peer:
                await peer.expect("ready")
                ref = otp.monitor(("srv", en))
                missing = otp.monitor(("nosuch", en))
                first = await otp.receive(timeout=GUARD)
                assert isinstance(first, otp.Down) and first.ref == missing
                await otp.stop(("srv", en))
                down = await otp.receive(timeout=GUARD)
                assert isinstance(down, otp.Down) and down.ref == ref
                return [first.reason, down.pid, down.reason]

        assert run_node(main, py) == ["noproc", ("srv", en), "normal"]
