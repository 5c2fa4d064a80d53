"""Remote spawn and rpc with real Erlang and Elixir nodes, both ways.

Erlang's side runs `erpc:call`, `rpc:call`, `spawn/4` and Elixir's
`Node.spawn` into this Python node (which imports `spawn_targets`) and
prints what it got; this side calls `otp.erpc` and `otp.spawn` into the
Erlang node. Each test waits for the line that shows the outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
import spawn_targets
from erlang_nodes import COOKIE, GUARD, erl, erlang, unique

import otp
from otp import Atom

pytestmark = pytest.mark.erlang


def names() -> tuple[str, str]:
    return unique("py") + "@127.0.0.1", unique("erl") + "@127.0.0.1"


def run(main: Any, py: str, rpc: Any = "*", hidden: bool = True) -> Any:
    return otp.run(main, node=py, cookie=COOKIE, rpc=rpc, hidden=hidden)


def erlang_calls(code: str, *lines: str, rpc: Any = "*", hidden: bool = True) -> list[str]:
    """Run `code` (with `P` bound to this node) on an Erlang node; the lines it printed."""
    py, name = names()

    async def main() -> list[str]:
        async with erlang(name, erl("P = $PY, pong = net_adm:ping(P), " + code, PY=py)) as peer:
            return [await peer.expect(line) for line in lines]

    return run(main, py, rpc, hidden)  # type: ignore[no-any-return]


class TestErpcIntoPython:
    def test_a_plain_and_an_async_function_return(self) -> None:
        code = """
        io:format("sync ~p~n", [erpc:call(P, spawn_targets, add, [1, 2])]),
        io:format("async ~p~n", [erpc:call(P, spawn_targets, add_later, [1, 2])]),
        io:format("node ~p~n", [erpc:call(P, spawn_targets, whoami, []) =:= atom_to_binary(P)]).
        """
        assert erlang_calls(code, "sync", "async", "node") == ["3", "3", "true"]

    def test_each_error_class_arrives_as_erlang_s(self) -> None:
        code = """
        Show = fun(F, A) ->
            try erpc:call(P, spawn_targets, F, A) catch C:R -> {C, R} end
        end,
        io:format("raise ~0p~n", [element(1, element(2, Show(fail, [<<"bad">>])))]),
        {error, {exception, Reason, [Frame | _]}} = Show(fail, [<<"bad">>]),
        io:format("reason ~0p ~0p~n", [Reason, element(1, Frame)]),
        io:format("throw ~0p~n", [Show(throw, [x])]),
        io:format("exit ~0p~n", [Show(leave, [why])]).
        """
        seen = erlang_calls(code, "raise", "reason", "throw", "exit")
        assert seen == [
            "exception",
            '{python,<<"ValueError">>,<<"bad">>} spawn_targets',
            "{throw,x}",
            "{exit,{exception,why}}",
        ]

    def test_an_unknown_module_is_undef(self) -> None:
        code = """
        R = try erpc:call(P, no_such_module, f, [1]) catch C:E -> {C, E} end,
        io:format("undef ~0p~n", [R]).
        """
        assert erlang_calls(code, "undef") == [
            "{error,{exception,undef,[{no_such_module,f,[1],[]}]}}"
        ]

    def test_a_module_outside_rpc_is_refused_naming_the_allow_list(self) -> None:
        code = """
        R = try erpc:call(P, spawn_targets, add, [1, 2]) catch C:E -> {C, E} end,
        io:format("refused ~0p~n", [R]).
        """
        [line] = erlang_calls(code, "refused", rpc=["json"])
        assert line.startswith('{error,{exception,{rpc_not_allowed,spawn_targets,[<<"json">>]}')


class TestRpcIntoPython:
    def test_rpc_call_returns_and_gives_badrpc_shapes(self) -> None:
        code = """
        io:format("ok ~0p~n", [rpc:call(P, spawn_targets, add, [1, 2])]),
        {badrpc, {'EXIT', {Raised, _}}} = rpc:call(P, spawn_targets, fail, [<<"b">>]),
        io:format("raise ~0p~n", [Raised]),
        io:format("undef ~0p~n", [rpc:call(P, no_such_module, f, [])]),
        io:format("exit ~0p~n", [rpc:call(P, spawn_targets, leave, [why])]),
        io:format("throw ~0p~n", [rpc:call(P, spawn_targets, throw, [x])]).
        """
        assert erlang_calls(code, "ok", "raise", "undef", "exit", "throw") == [
            "3",
            '{python,<<"ValueError">>,<<"b">>}',
            "{badrpc,{'EXIT',{undef,[{no_such_module,f,[],[]}]}}}",
            "{badrpc,{'EXIT',why}}",
            "x",
        ]

    def test_a_visible_node_answers_rpc_s_feature_probe_with_erpc(self) -> None:
        code = """
        {rex, P} ! {self(), features_request},
        receive {features_reply, P, Features} -> io:format("features ~0p~n", [Features]) end,
        io:format("ok ~0p~n", [rpc:call(P, spawn_targets, add, [1, 2])]).
        """
        assert erlang_calls(code, "features", "ok", hidden=False) == ["[erpc]", "3"]


class TestSpawnIntoPython:
    def test_spawn_spawn_monitor_and_spawn_link(self) -> None:
        code = """
        Pid = spawn(P, spawn_targets, report, [self(), hi]),
        receive {report, hi, Pid} -> io:format("spawned ~p~n", [node(Pid) =:= P]) end,
        {Pid2, Ref} = spawn_monitor(P, spawn_targets, add, [1, 2]),
        receive {'DOWN', Ref, process, Pid2, R} -> io:format("monitor ~p~n", [R]) end,
        process_flag(trap_exit, true),
        Pid3 = spawn_link(P, spawn_targets, wait_then_crash, []),
        Pid3 ! go,
        receive {'EXIT', Pid3, R3} -> io:format("link ~0p~n", [element(2, R3)]) end,
        {Pid4, Ref4} = spawn_monitor(P, no_such_module, f, []),
        receive {'DOWN', Ref4, process, Pid4, R4} -> io:format("undef ~0p~n", [R4]) end.
        """
        assert erlang_calls(code, "spawned", "monitor", "link", "undef") == [
            "true",
            "normal",
            '<<"RuntimeError">>',
            "{undef,[{no_such_module,f,[],[]}]}",
        ]

    def test_elixir_node_spawn_erpc_and_rpc(self) -> None:
        py, name = names()
        code = f"""
        p = :"{py}"
        true = Node.connect(p)
        pid = Node.spawn(p, :spawn_targets, :report, [self(), :hi])
        receive do {{:report, :hi, ^pid}} -> IO.puts("spawned #{{node(pid) == p}}") end
        IO.puts("erpc #{{:erpc.call(p, :spawn_targets, :add, [1, 2])}}")
        {{:badrpc, {{:EXIT, {{reason, _}}}}}} = :rpc.call(p, :spawn_targets, :fail, ["bad"])
        IO.puts("rpc #{{inspect(reason)}}")
        """

        async def main() -> list[str]:
            async with erlang(name, code, elixir=True) as peer:
                return [await peer.expect(line) for line in ("spawned", "erpc", "rpc")]

        assert run(main, py) == ["true", "3", '{:python, "ValueError", "bad"}']


WAITING = 'io:format("ready~n"), receive stop -> ok end.'


def python_calls(main: Any, elixir: bool = False) -> Any:
    """Run `main(erlang_node_name)` once an Erlang (or Elixir) node is up."""
    py, name = names()
    code = 'IO.puts("ready"); receive do :stop -> :ok end' if elixir else WAITING

    async def run_it() -> object:
        async with erlang(name, code, elixir=elixir) as peer:
            await peer.expect("ready")
            return await main(name, peer)

    return run(run_it, py)


class TestErpcIntoErlang:
    def test_return_values(self) -> None:
        async def main(node: str, _: object) -> list[object]:
            return [
                await otp.erpc.call(node, "erlang", "node", []),
                await otp.erpc.call(node, "lists", "reverse", [[1, 2, 3]]),
            ]

        seen = python_calls(main)
        assert seen[1] == [3, 2, 1] and str(seen[0]).startswith("erl")

    def test_error_throw_and_exit_arrive_as_their_exceptions(self) -> None:
        async def main(node: str, _: object) -> list[object]:
            seen: list[object] = []
            calls: list[tuple[str, list[object]]] = [
                ("error", [Atom("badarg")]),
                ("throw", ["x"]),
                ("exit", ["why"]),
            ]
            for fn, args in calls:
                with pytest.raises(otp.RemoteException) as failed:
                    await otp.erpc.call(node, "erlang", fn, args)
                seen.append((type(failed.value).__name__, failed.value.reason))
            with pytest.raises(otp.RemoteError) as undef:
                await otp.erpc.call(node, "no_such_module", "f", [])
            seen.append((undef.value.reason, undef.value.stack[0]))
            return seen

        assert python_calls(main) == [
            ("RemoteError", "badarg"),
            ("RemoteThrow", "x"),
            ("RemoteExit", "why"),
            ("undef", (Atom("no_such_module"), Atom("f"), [], [])),
        ]

    def test_elixir_string_upcase(self) -> None:
        async def main(node: str, _: object) -> object:
            return await otp.erpc.call(node, "Elixir.String", "upcase", ["hi"])

        assert python_calls(main, elixir=True) == "HI"

    def test_killing_the_node_during_a_call_raises_no_connection(self) -> None:
        async def main(node: str, peer: Any) -> bool:
            await otp.connect(node)

            async def kill() -> None:
                await peer.kill()

            call = otp.erpc.call(node, "timer", "sleep", [Atom("infinity")], timeout=GUARD)
            otp.spawn(kill)
            with pytest.raises(otp.NoConnection):
                await call
            return True

        assert python_calls(main) is True


class TestSpawnIntoErlang:
    def test_an_erlang_function_runs_there(self) -> None:
        async def main(node: str, _: object) -> tuple[object, bool]:
            pid = await otp.spawn(("erlang", "send"), otp.self(), "hi", node=node)
            return await otp.receive(timeout=GUARD), pid.node == node

        assert python_calls(main) == ("hi", True)

    def test_spawn_monitor_sees_an_erlang_crash_and_a_python_function_is_undef_there(
        self,
    ) -> None:
        async def main(node: str, _: object) -> list[object]:
            pid, ref = await otp.spawn_monitor(("erlang", "exit"), Atom("boom"), node=node)
            down = await otp.receive(timeout=GUARD)
            _, ref2 = await otp.spawn_monitor(spawn_targets.add, 1, 2, node=node)
            undef = await otp.receive(timeout=GUARD)
            assert isinstance(undef, otp.Down) and undef.ref == ref2
            return [down == otp.Down(ref, pid, "boom"), undef.reason[0]]  # type: ignore[index]

        assert python_calls(main) == [True, "undef"]

    def test_killing_the_node_fires_the_link_with_noconnection(self) -> None:
        async def main(node: str, peer: Any) -> object:
            otp.trap_exit(True)
            pid = await otp.spawn_link(("timer", "sleep"), Atom("infinity"), node=node)
            await peer.kill()
            return await otp.receive(timeout=GUARD) == otp.Exited(pid, "noconnection")

        assert python_calls(main) is True
