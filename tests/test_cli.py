"""The `otp` command: `run`, `observer` and `nodes`, as a user runs them.

Each test runs `python -m otp ...` in a subprocess, from a folder holding
the test's own application module, and checks the output and the exit
status; signals are sent once the application says it has started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from otp._cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
#: Real seconds a subprocess may take before the test gives up: a bound, never a wait.
BOUND = 60.0

APP = """
import sys

import otp


async def returns_three():
    print("started", flush=True)
    return 3


async def crashes():
    raise RuntimeError("the database is gone")


async def waits():
    print("started", sys.argv[1:], flush=True)
    await otp.receive()


async def needs_an_argument(x):
    return x


class Tree(otp.Supervisor):
    def init(self, arg):
        return otp.SupervisorSpec([Worker])


class Worker(otp.GenServer):
    def init(self, arg):
        otp.trap_exit(True)
        print("started", flush=True)
        return None

    def terminate(self, reason, state):
        print("worker terminated:", reason, flush=True)


class Quits(otp.GenServer):
    def init(self, arg):
        return otp.Ok(None, continue_="quit")

    def handle_continue(self, arg, state):
        return otp.Stop("the end", state)
"""


def env() -> dict[str, str]:
    environ = dict(os.environ, PYTHONUNBUFFERED="1")
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "src"), environ.get("PYTHONPATH")])
    )
    return environ


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "cliapp.py").write_text(textwrap.dedent(APP))
    return tmp_path


def otp_command(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otp", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env(),
        timeout=BOUND,
    )


@contextmanager
def started(cwd: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`otp ARGS` running, and the first line it printed; killed if left running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "otp", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            proc.wait(BOUND)
            pytest.fail(
                f"otp {' '.join(args)} exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        yield proc, first
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=BOUND)


class TestHelp:
    def test_help_lists_the_commands_with_examples(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exc:
            main(["--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        for command in ("run", "observer", "nodes"):
            assert command in out
        assert "otp run examples.app:main" in out
        assert "otp observer app@127.0.0.1" in out

    def test_each_command_explains_its_exit_status(self) -> None:
        parser = build_parser()
        helps = {
            name: sub.format_help()
            for action in parser._subparsers._actions  # type: ignore[union-attr]
            if hasattr(action, "choices") and isinstance(action.choices, dict)
            for name, sub in action.choices.items()
        }
        assert set(helps) == {"run", "observer", "nodes"}
        for text in helps.values():
            assert "exit status" in text
        assert "130" in helps["run"] and "143" in helps["run"]

    def test_no_command_prints_the_help_and_exits_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([]) == 2
        assert "otp run" in capsys.readouterr().out

    def test_python_dash_m_otp_is_the_command(self, app_dir: Path) -> None:
        result = otp_command(app_dir, "--help")
        assert result.returncode == 0
        assert result.stdout.startswith("usage: otp")


class TestRun:
    def test_an_int_returned_is_the_exit_status(self, app_dir: Path) -> None:
        result = otp_command(app_dir, "run", "cliapp:returns_three")
        assert result.stdout == "started\n"
        assert result.returncode == 3, result.stderr

    def test_a_crash_prints_the_traceback_and_exits_1(self, app_dir: Path) -> None:
        result = otp_command(app_dir, "run", "cliapp:crashes")
        assert result.returncode == 1
        assert "Traceback" in result.stderr
        assert "RuntimeError: the database is gone" in result.stderr
        assert "otp: cliapp:crashes crashed" in result.stderr

    @pytest.mark.parametrize(
        ("target", "says"),
        [
            ("cliapp", "expected MODULE:FUNCTION"),
            ("nosuchmodule:main", "cannot import module 'nosuchmodule'"),
            ("cliapp:nothing", "module 'cliapp' has no 'nothing'; it has: "),
            ("cliapp:needs_an_argument", "must be an async def function without arguments"),
        ],
    )
    def test_a_target_that_cannot_run_says_why_and_exits_2(
        self, app_dir: Path, target: str, says: str
    ) -> None:
        result = otp_command(app_dir, "run", target)
        assert result.returncode == 2
        assert says in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_bad_option_says_what_to_pass_and_exits_2(self, app_dir: Path) -> None:
        result = otp_command(app_dir, "run", "cliapp:returns_three", "--name", "a@b@c")
        assert result.returncode == 2
        assert "a node name is 'name@host'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_arguments_after_the_double_dash_reach_the_application(self, app_dir: Path) -> None:
        with started(app_dir, "run", "cliapp:waits", "--", "--verbose", "x.csv") as (proc, first):
            assert first == "started ['--verbose', 'x.csv']\n"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(BOUND) == 143

    def test_sigint_stops_a_supervisor_gracefully_and_exits_130(self, app_dir: Path) -> None:
        with started(app_dir, "run", "cliapp:Tree") as (proc, _):
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=BOUND)
        assert proc.returncode == 130, err
        assert "worker terminated: shutdown" in out
        assert "Received SIGINT: shutting down" in err

    def test_sigterm_exits_143(self, app_dir: Path) -> None:
        with started(app_dir, "run", "cliapp:Tree") as (proc, _):
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=BOUND)
        assert proc.returncode == 143
        assert "worker terminated: shutdown" in out

    def test_an_application_that_stops_by_itself_with_a_reason_exits_1(self, app_dir: Path) -> None:
        result = otp_command(app_dir, "run", "cliapp:Quits")
        assert result.returncode == 1
        assert "The application Quits stopped with reason 'the end'" in result.stderr


@pytest.mark.erlang
class TestNodes:
    def test_lists_the_nodes_epmd_knows(self, app_dir: Path) -> None:
        name = f"cli-nodes-{os.getpid()}"
        with started(app_dir, "run", "cliapp:waits", "--name", f"{name}@127.0.0.1", "--", "x"):
            result = otp_command(app_dir, "nodes")
        assert result.returncode == 0, result.stderr
        assert any(
            line.startswith(f"{name}@127.0.0.1  port ") for line in result.stdout.splitlines()
        )

    def test_no_epmd_exits_1_saying_so(self, app_dir: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "otp", "nodes"],
            capture_output=True,
            text=True,
            cwd=app_dir,
            env={**env(), "ERL_EPMD_PORT": "1"},
            timeout=BOUND,
        )
        assert result.returncode == 1
        assert result.stderr.startswith("otp: no nodes: ")


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=BOUND) as response:
        return json.loads(response.read())


class TestObserver:
    def test_attaches_to_a_running_node_and_serves_its_dashboard(self, app_dir: Path) -> None:
        target = f"cli-observed-{os.getpid()}@127.0.0.1"
        with (
            started(app_dir, "run", "cliapp:waits", "--name", target, "--", "x"),
            started(app_dir, "observer", target, "--port", "0") as (observer, line),
        ):
            assert line.startswith(f"Observing {target}: http://127.0.0.1:")
            url = line.split(": ", 1)[1].split()[0]
            overview = get_json(f"{url}api/overview")
            assert target in json.dumps(overview)
            processes = get_json(f"{url}api/processes?node={target}")
            assert isinstance(processes, dict) and processes["rows"], processes
            observer.send_signal(signal.SIGTERM)
            assert observer.wait(BOUND) == 0

    def test_attaches_to_the_example_application_and_finds_its_longest_queue(
        self, app_dir: Path
    ) -> None:
        target = f"cli-example-{os.getpid()}@127.0.0.1"
        example = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "app.py"), "--name", target, "--seconds", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        try:
            assert example.stdout is not None
            assert example.stdout.readline().startswith("app started")
            # The first report, at 1 s: by then the Audit server is behind for good.
            assert example.stdout.readline().startswith("[ 1.0s]")
            with started(app_dir, "observer", target, "--port", "0") as (observer, line):
                url = line.split(": ", 1)[1].split()[0]
                page = get_json(f"{url}api/processes?node={target}&sort=queue&order=desc")
                assert isinstance(page, dict)
                assert page["rows"][0]["name"] == "audit", page["rows"][:3]
                tree = json.dumps(get_json(f"{url}api/tree?node={target}"))
                assert '"sessions"' in tree and "Dispatcher" in tree
                observer.send_signal(signal.SIGTERM)
                assert observer.wait(BOUND) == 0
            example.send_signal(signal.SIGTERM)
            assert example.wait(BOUND) == 143
        finally:
            if example.poll() is None:
                example.kill()
            example.communicate(timeout=BOUND)

    def test_a_node_that_cannot_be_reached_exits_1_saying_what_to_check(
        self, app_dir: Path
    ) -> None:
        result = otp_command(app_dir, "observer", "nobody-here@127.0.0.1", "--port", "0")
        assert result.returncode == 1
        assert "cannot reach nobody-here@127.0.0.1" in result.stderr
        assert "same cookie" in result.stderr
