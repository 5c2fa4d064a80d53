"""Supervision benchmark: otp beside Elixir's Supervisor, measured in one run.

Two measures, for the same tree on both sides:

1. restart latency: the time from a worker's crash (exit signal `kill`)
   to its replacement answering a call (one_for_one, one worker);
2. a tree of 10,000 workers: the time to start it (`Supervisor.start_link`
   with 10,000 child specs) and to stop it (`stop`, children stopped in
   reverse order).

The Elixir side is `bench/supervision.exs`, run with the system's `elixir`
(Debian's package); it prints the same measures as JSON. If no `elixir` is
installed, only the otp column is printed.

Usage::

    python bench/supervision.py [--uvloop] [--workers 10000] [--restarts 2000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

import otp

perf = time.perf_counter
HERE = os.path.dirname(os.path.abspath(__file__))


class Worker(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(request, state)


async def restart_latency(restarts: int) -> float:
    """Median microseconds from a crash to the replacement answering a call."""
    sup = await otp.Supervisor.start_link(
        [Worker.child_spec(None, name="worker")], max_restarts=restarts * 2, max_seconds=3600
    )
    samples = []
    for _ in range(restarts):
        pid = otp.whereis("worker")
        assert pid is not None
        t0 = perf()
        ref = otp.monitor(pid)
        otp.exit(pid, "kill")
        await otp.receive(match=_down_of(ref))
        new = await replacement(sup, pid)
        await otp.call(new, "ping")
        samples.append(perf() - t0)
    await otp.stop(sup)
    return statistics.median(samples) * 1e6


def _down_of(ref: otp.Ref) -> Callable[[object], bool]:
    return lambda m: isinstance(m, otp.Down) and m.ref == ref


async def replacement(sup: otp.Pid, old: otp.Pid) -> otp.Pid:
    """The restarted child, once the supervisor has handled the exit (as on the Elixir side)."""
    while True:
        [child] = await otp.Supervisor.which_children(sup)
        if child.pid is not None and child.pid is not old:
            return child.pid


async def tree(workers: int) -> tuple[float, float]:
    """Seconds to start and to stop a one_for_one tree of `workers` workers."""
    specs = [Worker.child_spec(None, id=i) for i in range(workers)]
    t0 = perf()
    sup = await otp.Supervisor.start_link(specs)
    t1 = perf()
    await otp.stop(sup)
    t2 = perf()
    return t1 - t0, t2 - t1


async def otp_side(workers: int, restarts: int) -> dict[str, float]:
    latency = await restart_latency(restarts)
    starts, stops = [], []
    for _ in range(3):
        start, stop = await tree(workers)
        starts.append(start)
        stops.append(stop)
    return {
        "restart_us": latency,
        "start_s": statistics.median(starts),
        "stop_s": statistics.median(stops),
    }


def elixir_side(workers: int, restarts: int) -> dict[str, float] | None:
    elixir = shutil.which("elixir")
    if elixir is None:
        return None
    out = subprocess.run(
        [elixir, os.path.join(HERE, "supervision.exs"), str(workers), str(restarts)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--restarts", type=int, default=2_000)
    args = parser.parse_args()
    logging.getLogger("otp").setLevel(logging.ERROR)  # restarts are the point here
    ours = otp.run(otp_side, args.workers, args.restarts, use_uvloop=args.uvloop)
    theirs = elixir_side(args.workers, args.restarts)
    loop = "uvloop" if args.uvloop else "asyncio"
    print(f"| measure ({loop}) | otp | Elixir | otp / Elixir |")
    print("|---|---:|---:|---:|")
    rows = [
        ("crash to replacement answering a call", "restart_us", "us", 1.0),
        (f"start a tree of {args.workers:,} workers", "start_s", "ms", 1e3),
        (f"stop a tree of {args.workers:,} workers", "stop_s", "ms", 1e3),
    ]
    for label, key, unit, scale in rows:
        mine = ours[key] * scale
        if theirs is None:
            print(f"| {label} | {mine:.1f} {unit} | (no elixir) | |")
        else:
            other = theirs[key] * scale
            print(f"| {label} | {mine:.1f} {unit} | {other:.1f} {unit} | {mine / other:.2f}x |")


if __name__ == "__main__":
    main()
