"""The Elixir interop example runs in one command and does what it says.

`examples/elixir_interop/run.sh` starts the Python node `py@127.0.0.1`,
runs the Elixir client against it and stops the node with SIGTERM. The test
runs it as a subprocess (it needs `erl`, `epmd` and `elixir`: skipped
without them, unless OTP_REQUIRE_ERLANG=1) and checks what both sides print.
The Python node's lines and the client's lines are each in order; how the
two streams interleave is up to the operating system, so they are checked
apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "examples" / "elixir_interop" / "run.sh"

#: Real seconds the example may take before the test gives up: a bound against
#: hanging, never a synchronisation.
BOUND = 120.0

pytestmark = pytest.mark.erlang("elixir")


def run_example() -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [str(RUN)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=BOUND
    )


def test_run_sh_serves_the_elixir_client_then_stops_the_python_node() -> None:
    result = run_example()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    python = [line for line in lines if line.startswith("model: ")]
    elixir = [line for line in lines[:-1] if not line.startswith("model: ")]
    assert python == [
        "model: serving y = [0.5, -0.25] . x + 1.0 on py@127.0.0.1",
        "model: ready",
        "model: stopping (normal) after 4 predictions and 3 updates",
    ]
    assert elixir == [
        "global: :model runs on py@127.0.0.1",
        "erpc: math.hypot(3.0, 4.0) on Python -> 5.0",
        "predict [1.0, 2.0] -> 1.0",
        "predict [3.0, -1.0] -> 2.75",
        "predict [0, 4] -> 0.0",
        "predict [1.0] -> error: expected a list of 2 numbers, got [1.0]",
        "after 3 learning steps towards 3.0: predict [1.0, 2.0] -> 2.872",
        "stats: %{predictions: 4, updates: 3}",
        "monitor: model on py@127.0.0.1 went down (:normal)",
    ]
    # The client ran after the ready line, and the node stopped last, on SIGTERM.
    assert lines.index("model: ready") < lines.index(elixir[0])
    assert lines[-1] == "the Python node stopped cleanly"
    assert "Received SIGTERM: shutting down" in result.stderr
    assert "Traceback" not in result.stderr
