"""Instructions per operation, counted by valgrind: otp now against a base revision.

Timings on a shared machine move by tens of percent from run to run;
instruction counts do not. This runs the core benchmark's workloads
(`bench/core.py`: a single caller's call round trip, casts, 100 concurrent
callers, starting idle servers, and the bare-asyncio floor of each) under
`valgrind --tool=callgrind`, each at two sizes, and reports the
difference divided by the difference in operations: start-up and imports
cancel out, and what remains is the cost of one operation.

The same workload code runs against this checkout's `otp` and against the
`otp` of a base revision (a temporary `git worktree`), so the two columns
differ only by the library.

Usage::

    python bench/instructions.py                 # against HEAD~1's otp
    python bench/instructions.py --base cb47de8  # against any revision
    python bench/instructions.py --only call,fanin --uvloop

It needs `valgrind` and takes a few minutes (everything runs about 50
times slower under it).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: name -> (function in bench/core.py, arguments for n operations, runs as an otp process)
WORKLOADS: dict[str, tuple[str, Callable[[int], tuple[int, ...]], bool]] = {
    "call": ("otp_calls", lambda n: (n,), True),
    "call floor": ("floor_calls", lambda n: (n,), False),
    "cast": ("otp_casts", lambda n: (n,), True),
    "cast floor": ("floor_casts", lambda n: (n,), False),
    "fanin": ("otp_concurrent", lambda n: (100, n // 100), True),
    "fanin floor": ("floor_concurrent", lambda n: (100, n // 100), False),
    "start": ("otp_idle", lambda n: (n, 0), True),
    "start floor": ("floor_idle", lambda n: (n, 0), False),
}
SIZES = {
    "call": (5_000, 15_000),
    "cast": (20_000, 60_000),
    "fanin": (5_000, 15_000),
    "start": (5_000, 15_000),
}


def child(name: str, n: int, use_uvloop: bool) -> None:
    """Run one workload once (under valgrind, started by `count`)."""
    sys.path.insert(0, str(BENCH))
    core = importlib.import_module("core")  # bench/core.py: the workloads

    import otp

    fn_name, args, in_process = WORKLOADS[name]
    fn: Callable[..., Coroutine[Any, Any, float]] = getattr(core, fn_name)
    loop_factory = None
    if use_uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    if in_process:
        otp.run(fn, *args(n), loop_factory=loop_factory)
    else:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(fn(*args(n)))


def count(src: Path, name: str, n: int, use_uvloop: bool) -> int:
    """Instructions of one run of workload `name` with `n` operations, otp from `src`."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out.name}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            name,
            str(n),
        ] + (["--uvloop"] if use_uvloop else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"{name} under valgrind failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def per_op(src: Path, name: str, use_uvloop: bool) -> float:
    small, large = SIZES[name.split()[0]]
    return (count(src, name, large, use_uvloop) - count(src, name, small, use_uvloop)) / (
        large - small
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare with")
    parser.add_argument(
        "--only", default="call,cast,fanin,start", help="workloads: call,cast,fanin,start"
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.uvloop)
        return
    wanted = args.only.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.base],
            check=True,
            capture_output=True,
        )
        try:
            loop = "uvloop" if args.uvloop else "asyncio"
            print(f"instructions per operation ({loop}), base {args.base} vs this checkout")
            print("| workload | floor | base | now | now / base |")
            print("|---|---:|---:|---:|---:|")
            for name in wanted:
                floor = per_op(ROOT / "src", f"{name} floor", args.uvloop)
                base = per_op(base_tree / "src", name, args.uvloop)
                now = per_op(ROOT / "src", name, args.uvloop)
                print(f"| {name} | {floor:,.0f} | {base:,.0f} | {now:,.0f} | {now / base:.3f}x |")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
