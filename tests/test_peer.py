"""otp.peer: worker nodes in new OS processes, linked to the caller.

Every test starts real worker processes (each imports otp: a few tenths
of a second) and waits only on what the system reports: `Down`,
`Exited`, the exit of an OS process (`os_process_gone`, a pidfd). The
workers import this module by name (they get the test's `sys.path`), so
the code they run is defined here, at the top level.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

import otp

GUARD = 30.0  # seconds: only ever reached when something hangs
COOKIE = "peer-tests"


def unique_node(prefix: str) -> str:
    """A node name of its own for a test: `prefix` and a random part, on 127.0.0.1."""
    return f"{prefix}{uuid.uuid4().hex[:10]}@127.0.0.1"


async def os_process_gone(os_pid: int) -> None:
    """Wait until the OS process `os_pid` (a child of this one or not) has exited."""
    try:
        fd = os.pidfd_open(os_pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: None if gone.done() else gone.set_result(None))
    try:
        async with asyncio.timeout(GUARD):
            await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def down(ref: otp.Ref) -> object:
    """The reason of the `Down` of monitor `ref`."""
    async with asyncio.timeout(GUARD):
        msg = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(msg, otp.Down)
    return msg.reason


class Counter(otp.GenServer):
    """Counts; answers `"os_pid"` with its OS process id; crashes on `"crash"`."""

    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        if request == "os_pid":
            return otp.Reply(os.getpid(), state)
        return otp.Reply(state + 1, state + 1)

    def handle_cast(self, request: object, state: object) -> Any:
        if request == "crash":
            raise RuntimeError("the counter was asked to crash")
        return otp.NoReply(state)


async def report_os_pid(to: otp.Pid) -> None:
    """A process for another node: send `to` this OS process's id."""
    otp.send(to, ("os_pid", os.getpid()))


def utf8_mode() -> int:
    return sys.flags.utf8_mode


def say(out: str, err: str) -> None:
    """Print `out` on stdout and `err` on stderr, and log a warning."""
    print(out)
    print(err, file=sys.stderr)
    logging.getLogger("peer_tests").warning("a warning from %s", otp.node())


T = TypeVar("T")


def run(main: Callable[[], Coroutine[Any, Any, T]], prefix: str = "starter") -> T:
    return otp.run(main, node=unique_node(prefix), cookie=COOKIE)


class TestStartLink:
    def test_a_peer_is_a_node_in_another_os_process(self) -> None:
        async def main() -> tuple[str, object, int, bool, str]:
            peer = await otp.peer.start_link()
            answer = await otp.erpc.call(peer.node, "os", "getpid", [])
            connected = peer.node in otp.nodes()
            await otp.peer.stop(peer)
            return peer.node, answer, peer.os_pid, connected, repr(peer)

        node, answer, os_pid, connected, shown = run(main, "app")
        assert answer == os_pid != os.getpid()
        assert connected
        assert node.startswith("app") and "-peer-" in node and node.endswith("@127.0.0.1")
        assert shown.startswith(f"<Peer {node!r} os_pid={os_pid} control=<Pid")

    def test_processes_and_servers_start_on_the_peer(self) -> None:
        async def main() -> tuple[object, object, object, object]:
            peer = await otp.peer.start_link(unique_node("calc"))
            await otp.spawn(report_os_pid, otp.self(), node=peer.node)
            async with asyncio.timeout(GUARD):
                reported = await otp.receive()
            assert isinstance(reported, tuple)
            server = await Counter.start_link(41, node=peer.node)
            assert server is not None
            counted = await otp.call(server, "add")
            served_in = await otp.call(server, "os_pid")
            otp.unlink(server)  # stopping its node stops the server with "shutdown"
            await otp.peer.stop(peer)
            return peer.os_pid, reported[1], served_in, counted

        os_pid, spawned_in, served_in, counted = run(main)
        assert spawned_in == served_in == os_pid
        assert counted == 42

    def test_args_and_env_reach_the_worker(self) -> None:
        async def main() -> tuple[object, ...]:
            peer = await otp.peer.start_link(args=["-X", "utf8"], env={"PEER_TEST": "yes"})
            mode = await otp.erpc.call(peer.node, utf8_mode, [])
            value = await otp.erpc.call(peer.node, "os", "getenv", ["PEER_TEST"])
            await otp.peer.stop(peer)
            return mode, value

        assert run(main) == (1, "yes")

    def test_a_bare_name_gets_the_starters_host(self) -> None:
        name = unique_node("bare").partition("@")[0]

        async def main() -> str:
            peer = await otp.peer.start_link(name)
            await otp.peer.stop(peer)
            return peer.node

        assert run(main) == f"{name}@127.0.0.1"


class TestStartErrors:
    def test_a_node_without_a_name_is_told_to_take_one(self) -> None:
        async def main() -> None:
            await otp.peer.start_link()

        with pytest.raises(otp.NoConnection, match=r"node='app@127\.0\.0\.1'"):
            otp.run(main)

    def test_outside_a_process_the_error_says_so(self) -> None:
        with pytest.raises(otp.NotInProcess, match=r"otp\.peer\.start_link"):
            asyncio.run(otp.peer.start_link())

    @pytest.mark.parametrize(
        ("kwargs", "error", "says"),
        [
            ({"name": 42}, TypeError, "a peer's name is a str"),
            ({"name": "a@b@c"}, ValueError, "name@host"),
            ({"args": "-X dev"}, TypeError, r"sequence of str.*\('-X', 'dev'\)"),
            ({"args": [1]}, TypeError, "sequence of str"),
            ({"env": {"A": 1}}, TypeError, "mapping of str to str"),
            ({"cookie": ""}, ValueError, "non-empty str"),
            ({"timeout": 0}, ValueError, "seconds > 0"),
        ],
    )
    def test_a_bad_argument_says_what_to_pass(
        self, kwargs: dict[str, object], error: type[Exception], says: str
    ) -> None:
        async def main() -> None:
            await otp.peer.start_link(**kwargs)  # type: ignore[arg-type]

        with pytest.raises(error, match=says):
            run(main)

    def test_the_starters_own_name_is_refused(self) -> None:
        name = unique_node("self")

        async def main() -> None:
            await otp.peer.start_link(name)

        with pytest.raises(ValueError, match="a name of its own"):
            otp.run(main, node=name, cookie=COOKIE)

    def test_a_worker_that_exits_first_fails_the_start_with_its_stderr(self) -> None:
        async def main() -> str:
            otp.trap_exit(True)
            with pytest.raises(otp.StartError) as caught:
                await otp.peer.start_link(args=("-c", "raise SystemExit('no work today')"))
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)  # the caller was not signalled
            return str(caught.value)

        message = run(main)
        assert "exited with status 1 before it was ready" in message
        assert "no work today" in message

    def test_a_worker_not_ready_in_time_is_killed(self) -> None:
        async def main() -> str:
            with pytest.raises(otp.StartError) as caught:
                await otp.peer.start_link(args=("-c", "import time; time.sleep(60)"), timeout=0.2)
            return str(caught.value)

        message = run(main)
        assert "not ready within 0.2 s and was killed" in message
        assert "timeout=" in message


class TestLosingTheWorker:
    def test_a_killed_worker_exits_a_trapping_caller_with_noconnection(self) -> None:
        async def main() -> tuple[object, object]:
            otp.trap_exit(True)
            peer = await otp.peer.start_link()
            ref = otp.monitor(peer.pid)
            os.kill(peer.os_pid, signal.SIGKILL)
            reason = await down(ref)
            async with asyncio.timeout(GUARD):
                exited = await otp.receive(match=lambda m: isinstance(m, otp.Exited))
            await otp.peer.stop(peer)  # a stopped peer: nothing to do
            return reason, exited == otp.Exited(peer.pid, "noconnection")

        assert run(main) == ("noconnection", True)

    def test_a_caller_that_does_not_trap_dies_with_noconnection(self) -> None:
        async def owner(parent: otp.Pid) -> None:
            peer = await otp.peer.start_link()
            otp.send(parent, peer)
            await otp.receive()

        async def main() -> object:
            _, ref = otp.spawn_monitor(owner, otp.self())
            async with asyncio.timeout(GUARD):
                peer = await otp.receive(match=lambda m: isinstance(m, otp.peer.Peer))
            assert isinstance(peer, otp.peer.Peer)
            os.kill(peer.os_pid, signal.SIGKILL)
            return await down(ref)

        assert run(main) == "noconnection"

    def test_the_caller_exiting_stops_the_worker(self) -> None:
        async def owner(parent: otp.Pid) -> None:
            otp.send(parent, await otp.peer.start_link())
            await otp.receive()

        async def main() -> object:
            pid = otp.spawn(owner, otp.self())
            async with asyncio.timeout(GUARD):
                peer = await otp.receive()
            assert isinstance(peer, otp.peer.Peer)
            ref = otp.monitor(peer.pid)
            otp.exit(pid, "kill")
            reason = await down(ref)
            await os_process_gone(peer.os_pid)
            return reason

        assert run(main) == "killed"


class TestStop:
    def test_stop_ends_the_worker_without_signalling_the_caller(self) -> None:
        async def main() -> object:
            otp.trap_exit(True)
            peer = await otp.peer.start_link()
            ref = otp.monitor(peer.pid)
            await otp.peer.stop(peer)
            reason = await down(ref)
            await os_process_gone(peer.os_pid)
            await otp.peer.stop(peer)  # again: nothing to do
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)  # no Exited arrived
            return reason

        assert run(main) == "normal"

    def test_stop_takes_only_a_peer_or_a_pool(self) -> None:
        async def main() -> None:
            await otp.peer.stop("node@host")  # type: ignore[arg-type]

        with pytest.raises(TypeError, match="start_link or start_pool"):
            run(main)


class TestLogs:
    def test_output_and_log_records_reach_the_starters_log(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="otp.peer")

        async def main() -> str:
            peer = await otp.peer.start_link()
            await otp.erpc.call(peer.node, say, ["on stdout", "on stderr"])
            await otp.peer.stop(peer)  # returns once the worker's output is read
            return peer.node

        node = run(main)
        lines = {(r.name, r.levelno, r.getMessage()) for r in caplog.records}
        assert ("otp.peer", logging.INFO, f"[{node}] on stdout") in lines
        assert ("otp.peer", logging.WARNING, f"[{node}] on stderr") in lines
        assert ("peer_tests", logging.WARNING, f"[{node}] a warning from {node}") in lines
        ours = [r for r in caplog.records if f"[{node}]" in r.getMessage()]
        assert all(getattr(r, "otp_node", None) == node for r in ours)

    def test_a_crash_report_of_the_worker_reaches_the_starters_log(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> str:
            peer = await otp.peer.start_link()
            server = await Counter.start(0, node=peer.node)
            assert server is not None
            ref = otp.monitor(server)
            otp.cast(server, "crash")
            await down(ref)
            await otp.peer.stop(peer)
            return peer.node

        node = run(main)
        crashes = [
            r
            for r in caplog.records
            if r.name == "otp" and r.levelno == logging.ERROR and f"[{node}]" in r.getMessage()
        ]
        assert crashes, caplog.text
        assert getattr(crashes[0], "otp_node", None) == node
        assert "the counter was asked to crash" in caplog.text


STARTER = """
import os, sys, otp

def triple(x):
    return 3 * x

class Greeter(otp.GenServer):
    def handle_call(self, request, from_, state):
        return otp.Reply(f"hello {request} from {os.getpid()}", state)

async def main():
    peer = await otp.peer.start_link()
    print(peer.os_pid, flush=True)
    if sys.argv[2] == "serve":
        await otp.receive()
    print(await otp.erpc.call(peer.node, triple, [14]), flush=True)
    server = await Greeter.start(None, node=peer.node)
    print(await otp.call(server, "main"), flush=True)
    await otp.peer.stop(peer)

if __name__ == "__main__":
    otp.run(main, node=sys.argv[1], cookie="peer-tests")
"""


def _script(tmp_path: Path, source: str = STARTER) -> Path:
    path = tmp_path / "starter_script.py"
    path.write_text(textwrap.dedent(source))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}


class TestMainModule:
    def test_functions_and_classes_of_the_starters_script_run_on_the_worker(
        self, tmp_path: Path
    ) -> None:
        script = _script(tmp_path)
        done = subprocess.run(
            [sys.executable, str(script), unique_node("script"), "once"],
            capture_output=True,
            text=True,
            timeout=GUARD,
            env=_env(),
        )
        assert done.returncode == 0, done.stderr
        os_pid, tripled, greeting = done.stdout.splitlines()
        assert tripled == "42"
        assert greeting == f"hello main from {os_pid}"

    def test_a_script_that_fails_on_the_worker_fails_the_start(self, tmp_path: Path) -> None:
        script = _script(
            tmp_path,
            """
            import sys, otp
            if __name__ == "__mp_main__":
                raise RuntimeError("this script refuses to be a worker")

            async def main():
                try:
                    await otp.peer.start_link()
                except otp.StartError as exc:
                    print(exc)

            otp.run(main, node=sys.argv[1], cookie="peer-tests")
            """,
        )
        done = subprocess.run(
            [sys.executable, str(script), unique_node("fails")],
            capture_output=True,
            text=True,
            timeout=GUARD,
            env=_env(),
        )
        assert "before it was ready" in done.stdout, done.stderr
        assert "RuntimeError: this script refuses to be a worker" in done.stdout


class TestStarterKilled:
    def test_the_worker_halts_when_its_starter_is_killed(self, tmp_path: Path) -> None:
        script = _script(tmp_path)

        async def main() -> None:
            starter = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                unique_node("killed"),
                "serve",
                stdout=asyncio.subprocess.PIPE,
                env=_env(),
            )
            assert starter.stdout is not None
            async with asyncio.timeout(GUARD):
                worker = int(await starter.stdout.readline())
            starter.kill()
            await starter.wait()
            await os_process_gone(worker)

        asyncio.run(main())


# -- supervision ------------------------------------------------------------


async def os_pid_of(node: str) -> int:
    os_pid = await otp.erpc.call(node, "os", "getpid", [])
    assert isinstance(os_pid, int)
    return os_pid


async def child_pid(sup: otp.Pid, id_: object) -> otp.Pid:
    """The pid of child `id_`; asked after a restart, the restarted child's."""
    [pid] = [c.pid for c in await otp.Supervisor.which_children(sup) if c.id == id_]
    assert pid is not None
    return pid


async def kill_and_wait_restart(sup: otp.Pid, node: str) -> tuple[int, int, object]:
    """Kill the worker `node` of `sup`; its old and new OS pids, and its control's exit."""
    old = await os_pid_of(node)
    ref = otp.monitor(await child_pid(sup, node))
    os.kill(old, signal.SIGKILL)
    reason = await down(ref)
    # The supervisor handles the exit (and restarts the child) before this call.
    await child_pid(sup, node)
    return old, await os_pid_of(node), reason


class TestChildSpec:
    def test_a_supervisor_restarts_a_lost_peer_under_the_same_name(self) -> None:
        name = unique_node("sup")

        async def main() -> tuple[int, int, object]:
            spec = otp.peer.child_spec(name)
            assert spec.id == name
            sup = await otp.Supervisor.start_link([spec])
            assert sup is not None
            return await kill_and_wait_restart(sup, name)

        old, new, reason = otp.run(main, node=unique_node("starter"), cookie=COOKIE)
        assert reason == "noconnection"
        assert new != old

    def test_a_peer_needs_a_name_to_be_supervised(self) -> None:
        with pytest.raises(TypeError, match="also the child's id"):
            otp.peer.child_spec(None)  # type: ignore[arg-type]


class TestPool:
    def test_start_pool_starts_named_peers_and_restarts_a_lost_one(self) -> None:
        starter = unique_node("pool")
        alive = starter.partition("@")[0]

        async def main() -> tuple[object, ...]:
            names = otp.peer.pool_nodes(2)
            pool = await otp.peer.start_pool(2)
            os_pids = [await os_pid_of(n) for n in pool.nodes]
            old, new, _ = await kill_and_wait_restart(pool.pid, pool.nodes[1])
            os_pids.append(new)
            await otp.peer.stop(pool)
            for os_pid in os_pids:
                await os_process_gone(os_pid)
            alive_after = otp.is_alive(pool.pid)
            await otp.peer.stop(pool)  # a stopped pool: nothing to do
            return names, pool.nodes, old == os_pids[1], new != old, alive_after

        names, nodes, same, restarted, alive_after = otp.run(main, node=starter, cookie=COOKIE)
        assert names == nodes == [f"{alive}-1@127.0.0.1", f"{alive}-2@127.0.0.1"]
        assert same and restarted and not alive_after

    def test_pool_nodes_default_to_one_per_core(self) -> None:
        async def main() -> list[str]:
            return otp.peer.pool_nodes(prefix="w")

        names = otp.run(main, node=unique_node("cores"), cookie=COOKIE)
        count = os.cpu_count() or 1
        assert names == [f"w{i}@127.0.0.1" for i in range(1, count + 1)]

    @pytest.mark.parametrize(
        ("size", "prefix", "says"),
        [(0, None, "size must be a number of peers >= 1"), (2, "a@b", "without '@'")],
    )
    def test_bad_pool_arguments_say_what_to_pass(
        self, size: int, prefix: str | None, says: str
    ) -> None:
        async def main() -> None:
            otp.peer.pool_nodes(size, prefix)

        with pytest.raises(ValueError, match=says):
            otp.run(main, node=unique_node("bad"), cookie=COOKIE)

    def test_a_pool_spec_puts_the_pool_in_a_supervision_tree(self) -> None:
        prefix = unique_node("tree").partition("@")[0] + "-"

        async def main() -> tuple[object, ...]:
            sup = await otp.Supervisor.start_link([otp.peer.pool_spec(1, prefix=prefix)])
            assert sup is not None
            [child] = await otp.Supervisor.which_children(sup)
            node = otp.peer.pool_nodes(1, prefix)[0]
            os_pid = await os_pid_of(node)
            async with asyncio.timeout(GUARD):
                await otp.stop(sup)
            await os_process_gone(os_pid)
            return child.id, child.type, node

        assert otp.run(main, node=unique_node("starter"), cookie=COOKIE) == (
            "peers",
            "supervisor",
            f"{prefix}1@127.0.0.1",
        )
