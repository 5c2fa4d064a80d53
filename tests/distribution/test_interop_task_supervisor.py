"""Elixir's Task.Supervisor starting tasks under a Python TaskSupervisor.

This node starts `otp.TaskSupervisor.start_link(name="sup")`; an Elixir node
calls `Task.Supervisor.async({:sup, py}, :spawn_targets, fun, args)` and
the other Task.Supervisor functions, and prints what it got. Each test
waits for the lines that show the outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
from erlang_nodes import COOKIE, erlang, unique

import otp

pytestmark = pytest.mark.erlang


def elixir_runs(code: str, *lines: str, rpc: Any = "*", then: Any = None) -> list[str]:
    """Run `code` (with `p` bound to this node) on an Elixir node; the lines it printed.

    `then(peer, name)` runs after the lines were seen; what it returns is appended.
    """
    py, name = unique("py") + "@127.0.0.1", unique("ex") + "@127.0.0.1"
    prelude = f'p = :"{py}"\ntrue = Node.connect(p)\n'

    async def main() -> list[str]:
        await otp.TaskSupervisor.start_link(name="sup")
        async with erlang(name, prelude + code, elixir=True) as peer:
            seen = [await peer.expect(line) for line in lines]
            if then is not None:
                seen.extend(await then(peer, name))
            return seen

    return otp.run(main, node=py, cookie=COOKIE, rpc=rpc)


class TestAsync:
    def test_task_await_returns_a_plain_and_an_async_function_s_value(self) -> None:
        code = """
        t = Task.Supervisor.async({:sup, p}, :spawn_targets, :add, [1, 2])
        IO.puts("sync #{Task.await(t)} #{node(t.pid) == p}")
        t = Task.Supervisor.async({:sup, p}, :spawn_targets, :add_later, [3, 4])
        IO.puts("async #{Task.await(t)}")
        """
        assert elixir_runs(code, "sync", "async") == ["3 true", "7"]

    def test_a_python_exception_makes_task_await_exit_and_the_link_fire(self) -> None:
        code = """
        Process.flag(:trap_exit, true)
        t = Task.Supervisor.async({:sup, p}, :spawn_targets, :fail, ["bad"])
        {{{:python, cls, msg}, [_ | _]}, {Task, :await, _}} =
          try do Task.await(t) catch :exit, reason -> reason end
        IO.puts("raised #{cls} #{msg}")
        receive do {:EXIT, pid, {{:python, _, _}, _}} -> IO.puts("linked #{pid == t.pid}") end
        """
        assert elixir_runs(code, "raised", "linked") == ["ValueError bad", "true"]

    def test_async_stream_maps_each_element_on_python(self) -> None:
        code = """
        results = Task.Supervisor.async_stream({:sup, p}, [1, 2, 3], :spawn_targets, :add, [10])
        IO.puts("stream #{inspect(Enum.to_list(results))}")
        """
        assert elixir_runs(code, "stream") == ["[ok: 11, ok: 12, ok: 13]"]


class TestAsyncNolink:
    def test_task_yield_gets_the_value_or_the_exit_and_no_link_is_made(self) -> None:
        code = """
        t = Task.Supervisor.async_nolink({:sup, p}, :spawn_targets, :add, [2, 3])
        IO.puts("value #{inspect(Task.yield(t, 20_000))}")
        t = Task.Supervisor.async_nolink({:sup, p}, :spawn_targets, :fail, ["x"])
        {:exit, {{:python, cls, msg}, _}} = Task.yield(t, 20_000)
        IO.puts("exit #{cls} #{msg}")
        {:links, links} = Process.info(self(), :links)
        IO.puts("links #{Enum.any?(links, &(node(&1) == p))}")
        """
        assert elixir_runs(code, "value", "exit", "links") == [
            "{:ok, 5}",
            "ValueError x",
            "false",
        ]

    def test_a_module_outside_rpc_is_refused_naming_the_allow_list(self) -> None:
        code = """
        t = Task.Supervisor.async_nolink({:sup, p}, :spawn_targets, :add, [1, 2])
        {:exit, {reason, _}} = Task.yield(t, 20_000)
        IO.puts("refused #{inspect(reason)}")
        """
        assert elixir_runs(code, "refused", rpc=["json"]) == [
            '{:rpc_not_allowed, :spawn_targets, ["json"]}'
        ]


class TestStartChild:
    def test_start_child_runs_the_function_for_nobody(self) -> None:
        code = """
        {:ok, pid} = Task.Supervisor.start_child({:sup, p}, :spawn_targets, :report, [self(), :hi])
        receive do {:report, :hi, ^pid} -> IO.puts("child #{node(pid) == p}") end
        """
        assert elixir_runs(code, "child") == ["true"]


class TestLookingAtTheChildren:
    def test_children_count_children_and_terminate_child_answer_in_otp_s_shapes(self) -> None:
        code = """
        {:ok, pid} = Task.Supervisor.start_child({:sup, p}, :spawn_targets, :wait_forever, [])
        IO.puts("children #{Task.Supervisor.children({:sup, p}) == [pid]}")
        [{:undefined, ^pid, :worker, _}] = DynamicSupervisor.which_children({:sup, p})
        IO.puts("counts #{inspect(DynamicSupervisor.count_children({:sup, p}))}")
        ref = Process.monitor(pid)
        :ok = Task.Supervisor.terminate_child({:sup, p}, pid)
        receive do {:DOWN, ^ref, :process, _, reason} -> IO.puts("down #{inspect(reason)}") end
        IO.puts("again #{inspect(Task.Supervisor.terminate_child({:sup, p}, pid))}")
        IO.puts("after #{inspect(Task.Supervisor.children({:sup, p}))}")
        """
        assert elixir_runs(code, "children", "counts", "down", "again", "after") == [
            "true",
            "%{active: 1, specs: 1, supervisors: 0, workers: 1}",
            ":shutdown",
            "{:error, :not_found}",
            "[]",
        ]


class TestNodeLoss:
    def test_losing_the_python_node_ends_task_await_with_noconnection(self) -> None:
        code = """
        Process.flag(:trap_exit, true)
        t = Task.Supervisor.async({:sup, p}, :spawn_targets, :wait_forever, [])
        IO.puts("started")
        reason = try do Task.await(t, :infinity) catch :exit, reason -> reason end
        IO.puts("lost #{inspect(elem(reason, 0) == {:nodedown, p})}")
        receive do {:EXIT, pid, why} -> IO.puts("link #{pid == t.pid} #{why}") end
        """

        async def disconnect(peer: Any, name: str) -> list[str]:
            assert otp.disconnect(name)
            return [await peer.expect("lost"), await peer.expect("link")]

        # Elixir's Task.await turns the monitor's `noconnection` into `{:nodedown, node}`.
        assert elixir_runs(code, "started", then=disconnect) == ["", "true", "true noconnection"]
