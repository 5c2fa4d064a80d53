"""The example programs and the README snippets run, and do what they say.

Each example's `main` runs on the virtual clock, so the application's
3-second run takes no real time and its output is the same on every run.
Two tests run `examples/app.py` as a program, in a subprocess: one until its
time is up, one interrupted with SIGINT. Every ```python block of README.md
runs as a program too, and prints the ```text block that follows it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import pytest

from otp.testing import VirtualClock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: Real seconds a subprocess may take before the test gives up on it: a bound
#: against hanging, never a synchronisation.
BOUND = 60.0


def load(name: str) -> ModuleType:
    """Import `examples/<name>.py` as a fresh module (skipped when missing)."""
    path = EXAMPLES / f"{name}.py"
    if not path.exists():
        pytest.skip(f"examples/{name}.py does not exist yet")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def program_env() -> dict[str, str]:
    """The environment of an example run as a program: unbuffered, `otp` importable."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def run_program(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `path` as a program, from the project's root, until it exits."""
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        env=program_env(),
        cwd=ROOT,
        timeout=BOUND,
    )


class TestCounter:
    def test_client_api_increments_reads_and_resets(
        self, clock: VirtualClock, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert clock.run(load("counter").main) == [42, 42, 0]
        assert capsys.readouterr().out.splitlines() == [
            "count: 42",
            "reset, it was: 42",
            "count after reset: 0",
        ]


class TestPoller:
    def test_polls_every_interval_then_stops(
        self, clock: VirtualClock, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert clock.run(load("poller").main, 0.5, 4) == [0.5, 1.0, 1.5, 2.0]
        assert clock.time() == 2.0
        out = capsys.readouterr().out.splitlines()
        assert out[-2:] == [
            "poller stopped (normal) after 4 polls",
            "main: the poller exited with 'normal'",
        ]

    def test_unexpected_message_is_logged_and_dropped(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="poller"):
            clock.run(load("poller").main, 1.0, 1)
        assert ["dropping unexpected message 'hello?'"] == [
            r.getMessage() for r in caplog.records if r.name == "poller"
        ]


class TestDeferredInit:
    def test_start_returns_at_once_and_calls_wait_for_the_loading(
        self, clock: VirtualClock
    ) -> None:
        timeline = clock.run(load("deferred_init").main, 2.5)
        assert timeline == [("start_link returned", 0.0), ("apple costs 3", 2.5)]


class TestApp:
    STOPS: ClassVar[list[str]] = [
        "  reporter: stopped reporting",
        "  feed: closing the upstream connection after",
        "  dispatcher: no new jobs after job",
        "  stats: handing over the final counts",
    ]

    def assert_stopped_in_reverse_start_order(self, out: list[str], cause: str) -> None:
        """The terminate lines, between the shutdown header and the summary, in order."""
        start = out.index(f"{cause}: stopping the services in reverse start order")
        end = next(i for i, line in enumerate(out) if line.startswith("summary after"))
        terminated = [line for line in out[start + 1 : end] if not line.startswith("[")]
        assert len(terminated) == len(self.STOPS), terminated
        for line, expected in zip(terminated, self.STOPS, strict=True):
            assert line.startswith(expected)

    def test_runs_for_the_given_time_then_stops_in_reverse_start_order(
        self, clock: VirtualClock, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = load("app")
        summary = clock.run(app.main, 3.0)
        assert clock.time() == 3.0
        assert summary.seconds == 3.0 and not summary.interrupted
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "app started: 7 services, running for 3 s (Ctrl-C stops it)"
        self.assert_stopped_in_reverse_start_order(out, "time is up")
        assert out[-2].startswith("summary after 3.0 s: ")
        assert out[-1].endswith("every service stopped cleanly")

    def test_the_flaky_feed_crashes_and_is_restarted(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="otp"):
            summary = clock.run(load("app").main, 3.0)
        assert summary.feed_restarts >= 1
        messages = [r.getMessage() for r in caplog.records if r.name == "otp"]
        crashes = [m for m in messages if "UpstreamError" in m and "terminating" in m]
        restarts = [m for m in messages if "restarted child 'Feed'" in m]
        assert len(crashes) == len(restarts) == summary.feed_restarts

    def test_summary_counts_every_job(
        self, clock: VirtualClock, capsys: pytest.CaptureFixture[str]
    ) -> None:
        summary = clock.run(load("app").main, 3.0)
        counts = summary.counts
        # A job every 0.2 s for 3 s: the 15th falls due with the deadline.
        assert counts["jobs dispatched"] == 15
        assert 0 < counts["jobs done"] <= counts["jobs dispatched"]
        out = capsys.readouterr().out
        cut_short = counts["jobs dispatched"] - counts["jobs done"]
        assert f"  {cut_short} unfinished jobs were cut short" in out

    def test_the_same_seed_gives_the_same_run(self, capsys: pytest.CaptureFixture[str]) -> None:
        first = VirtualClock().run(load("app").main, 2.0, 7)
        first_out = capsys.readouterr().out
        second = VirtualClock().run(load("app").main, 2.0, 7)
        assert first.counts == second.counts
        assert first_out == capsys.readouterr().out

    def test_runs_as_a_program_and_exits_0(self) -> None:
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "app.py"), "--seconds", "0.2"],
            capture_output=True,
            text=True,
            env=program_env(),
            timeout=BOUND,
        )
        assert result.returncode == 0, result.stderr
        assert "time is up" in result.stdout
        assert "every service stopped cleanly" in result.stdout
        assert "started child 'Stats'" in result.stderr  # logging at INFO on logger "otp"

    @pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a subprocess needs POSIX")
    def test_sigint_shuts_down_gracefully_and_exits_130(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "app.py"), "--seconds", "30"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=program_env(),
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # printed once the tree is up
            assert first.startswith("app started"), first
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 130, err
        lines = out.splitlines()
        self.assert_stopped_in_reverse_start_order(lines, "interrupted")
        assert lines[-1].endswith("every service stopped cleanly")
        assert "Received SIGINT: shutting down" in err
        assert "Traceback" not in err.split("Received SIGINT")[1]


class TestOtherExamples:
    @pytest.mark.parametrize("name", ["slow_work", "pubsub", "slow_server"])
    def test_runs_to_completion_on_the_virtual_clock(self, name: str) -> None:
        VirtualClock().run(load(name).main)


class TestCores:
    def test_the_counts_over_worker_nodes_match_the_counts_on_one_node(self) -> None:
        result = run_program(EXAMPLES / "cores.py", "--docs", "200", "--workers", "2")
        # The program itself checks that both runs counted the same.
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("200 documents on 2 worker nodes: ")
        assert lines[1] == "top words: the 70422, and 23085, that 8573, for 7364, with 5654"
        assert lines[2] == "top pairs: 'the the' 25435, 'and the' 8375, 'the and' 8135"
        assert lines[3].startswith("the same on this node alone: ")


class TestSessions:
    def test_sessions_are_started_on_demand_restarted_and_ended_when_idle(self) -> None:
        clock = VirtualClock()
        sessions = load("sessions")
        added, cart, restarted, fresh_cart, left = clock.run(sessions.main)
        assert added == 2 and cart == ["book", "lamp"]
        assert restarted is True and fresh_cart == []
        assert left == 0
        assert clock.time() == sessions.IDLE + 1


# -- README ---------------------------------------------------------------------------

_BLOCK = re.compile(r"```python\n(.*?)```(?:\s*\n```text\n(.*?)```)?", re.DOTALL)


def readme_blocks() -> list[tuple[str, str | None]]:
    """Every ```python block of README.md, with the ```text block after it, if any."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]


_BLOCKS = readme_blocks()


@pytest.mark.parametrize(
    ("code", "output"), _BLOCKS, ids=[f"block{i + 1}" for i in range(len(_BLOCKS))]
)
def test_readme_snippet_runs_and_prints_what_the_readme_shows(
    code: str, output: str | None, tmp_path: Path
) -> None:
    # A script of its own, as a reader would run it: worker nodes import its functions.
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    result = run_program(script)
    assert result.returncode == 0, result.stderr
    if output is not None:
        assert result.stdout == output


def test_readme_has_snippets() -> None:
    assert len(_BLOCKS) >= 3
