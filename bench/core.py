"""The core benchmark: otp against the floor, a bare asyncio actor, in one run.

The floor is the least an asyncio actor can do: a deque mailbox, one wake-up
Future and one Task per actor. A call is `fut = loop.create_future()`, append,
`await fut`; the actor's loop pops a message, handles it and sets the future's
result. Whatever otp adds on top of that (links, monitors, names, supervision
hooks, error reports) has to pay for itself against this floor.

Measures, each for the floor and for otp:

1. call round trip: one process calling one GenServer in a loop (us/call);
2. casts handled per second, each through `handle_cast`, closed by one call;
3. 100 concurrent callers (otp processes; Tasks for the floor) into one
   server: total calls per second;
4. 1,000,000 idle servers started with `await X.start(None)`: bytes and us
   per process, measured in a fresh subprocess (RSS delta, plus tracemalloc
   on a smaller batch).

Machines are shared and noisy, so repetitions of the floor and of otp are
interleaved (alternating which goes first) and the table reports medians;
the ratio column is the median of the per-repetition ratios.

Usage::

    python bench/core.py            # asyncio's default loop
    python bench/core.py --uvloop   # uvloop
    python bench/core.py --all      # both, one Markdown table (bench/run.sh)
    python bench/core.py --quick    # smaller sizes, fewer repetitions
    python bench/core.py --only casts,idle --reps 9
    python bench/core.py --profile call,queued,cast,start --top 25
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import otp

perf = time.perf_counter
Measure = Callable[..., Coroutine[Any, Any, float]]

# -- the floor: a bare asyncio actor ---------------------------------------------


class Actor:
    """A deque mailbox, one wake-up Future, one Task: the least an actor can be."""

    __slots__ = ("mailbox", "state", "task", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.mailbox: deque[tuple[object, asyncio.Future[object] | None]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.state = 0
        self.task = loop.create_task(self.run(loop))

    def send(self, request: object, fut: asyncio.Future[object] | None) -> None:
        self.mailbox.append((request, fut))
        w = self.waiter
        if w is not None:
            self.waiter = None
            w.set_result(None)

    async def run(self, loop: asyncio.AbstractEventLoop) -> None:
        mb = self.mailbox
        while True:
            while mb:
                request, fut = mb.popleft()
                if fut is None:  # a cast
                    self.state += 1
                else:  # a call: the reply is the request
                    fut.set_result(request)
            waiter = self.waiter = loop.create_future()
            await waiter


async def floor_call(actor: Actor, loop: asyncio.AbstractEventLoop, request: object) -> object:
    fut: asyncio.Future[object] = loop.create_future()
    actor.send(request, fut)
    return await fut


# -- the otp side ---------------------------------------------------------------------


class Echo(otp.GenServer):
    """Replies with the request; counts casts."""

    def init(self, arg: object) -> object:
        return 0

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(request, state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int)
        return otp.NoReply(state + 1)


class Idle(otp.GenServer):
    """A server that only exists: the default `init` makes `None` its state."""


# -- measures 1 to 3 (each returns the seconds its timed part took) ------------------


async def floor_calls(n: int) -> float:
    loop = asyncio.get_running_loop()
    actor = Actor(loop)
    for i in range(1000):
        await floor_call(actor, loop, i)
    t0 = perf()
    for i in range(n):
        await floor_call(actor, loop, i)
    elapsed = perf() - t0
    actor.task.cancel()
    return elapsed


async def otp_calls(n: int) -> float:
    pid = await Echo.start(None)
    assert pid is not None
    call = otp.call
    for i in range(1000):
        await call(pid, i)
    t0 = perf()
    for i in range(n):
        await call(pid, i)
    return perf() - t0


async def floor_casts(n: int) -> float:
    loop = asyncio.get_running_loop()
    actor = Actor(loop)
    await floor_call(actor, loop, None)
    t0 = perf()
    send = actor.send
    for i in range(n):
        send(i, None)
    await floor_call(actor, loop, None)
    elapsed = perf() - t0
    assert actor.state == n
    actor.task.cancel()
    return elapsed


async def otp_casts(n: int) -> float:
    pid = await Echo.start(None)
    assert pid is not None
    await otp.call(pid, None)
    cast = otp.cast
    t0 = perf()
    for i in range(n):
        cast(pid, i)
    # Handled after every cast (the mailbox is in order); no timeout, as under
    # valgrind (bench/instructions.py) the casts can take longer than 5 s.
    await otp.call(pid, None, timeout=None)
    elapsed = perf() - t0
    assert await otp.sys.get_state(pid) == n
    return elapsed


async def floor_concurrent(callers: int, each: int) -> float:
    loop = asyncio.get_running_loop()
    actor = Actor(loop)
    await floor_call(actor, loop, None)

    async def caller() -> None:
        for i in range(each):
            await floor_call(actor, loop, i)

    t0 = perf()
    await asyncio.gather(*(caller() for _ in range(callers)))
    elapsed = perf() - t0
    actor.task.cancel()
    return elapsed


async def _otp_caller(server: otp.Pid, each: int, report_to: otp.Pid) -> None:
    call = otp.call
    for i in range(each):
        await call(server, i)
    otp.send(report_to, "done")


async def otp_concurrent(callers: int, each: int) -> float:
    pid = await Echo.start(None)
    assert pid is not None
    await otp.call(pid, None)
    me = otp.self()
    t0 = perf()
    for _ in range(callers):
        otp.spawn(_otp_caller, pid, each, me)
    for _ in range(callers):
        await otp.receive()
    return perf() - t0


# -- measure 4: many idle processes, in a fresh interpreter ------------------------------


def rss_bytes() -> int:
    """The resident set size of this process (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


async def floor_idle(n: int, traced: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    keep: list[Actor] = []
    if traced:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        keep.extend(Actor(loop) for _ in range(traced))
        await asyncio.sleep(0)  # every Task runs to its first wait
        traced_bytes = (tracemalloc.get_traced_memory()[0] - before) / traced
        tracemalloc.stop()
        keep.clear()
        await asyncio.sleep(0)
    gc.collect()
    rss0 = rss_bytes()
    t0 = perf()
    for _ in range(n):
        keep.append(Actor(loop))
    await asyncio.sleep(0)  # every Task runs to its first wait: now idle
    elapsed = perf() - t0
    rss1 = rss_bytes()
    assert all(a.waiter is not None for a in keep[:10])
    return {"seconds": elapsed, "rss": (rss1 - rss0) / n, "traced": traced_bytes if traced else 0}


async def otp_idle(n: int, traced: int) -> dict[str, float]:
    start = Idle.start
    keep: list[otp.Pid | None] = []
    await start(None)  # warm up class-level caches
    if traced:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(traced):
            keep.append(await start(None))
        traced_bytes = (tracemalloc.get_traced_memory()[0] - before) / traced
        tracemalloc.stop()
    gc.collect()
    rss0 = rss_bytes()
    t0 = perf()
    for _ in range(n):
        await start(None)
    elapsed = perf() - t0
    rss1 = rss_bytes()
    return {"seconds": elapsed, "rss": (rss1 - rss0) / n, "traced": traced_bytes if traced else 0}


def idle_child(side: str, n: int, traced: int, use_uvloop: bool) -> None:
    """Run measure 4 in this (fresh) interpreter and print its result as JSON.

    Exits without shutting the node down: stopping a million processes is a
    different measure, and the subprocess ends anyway.
    """
    out: dict[str, float]
    if side == "floor":
        factory = _loop_factory(use_uvloop)
        with asyncio.Runner(loop_factory=factory) as runner:
            out = runner.run(floor_idle(n, traced))
            print(json.dumps(out), flush=True)
            os._exit(0)
    else:

        async def main() -> None:
            print(json.dumps(await otp_idle(n, traced)), flush=True)
            os._exit(0)

        otp.run(main, use_uvloop=use_uvloop)


def run_idle(side: str, n: int, traced: int, use_uvloop: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", side, str(n), str(traced)]
    if use_uvloop:
        cmd.append("--uvloop")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {side} idle child failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- profiling -------------------------------------------------------------------------


async def otp_starts(n: int) -> float:
    t0 = perf()
    for _ in range(n):
        await Idle.start(None)
    return perf() - t0


PROFILED: dict[str, tuple[Measure, tuple[object, ...]]] = {
    "call": (otp_calls, (100_000,)),
    "queued": (otp_concurrent, (100, 1_000)),
    "cast": (otp_casts, (300_000,)),
    "start": (otp_starts, (100_000,)),
}


def profile(path: str, top: int, use_uvloop: bool) -> None:
    """Run one otp path under cProfile; print the `top` functions by their own time.

    cProfile adds a fixed cost to every Python function call, so it
    overstates paths made of many small functions: use it to see which
    functions matter, and the timed measures to see what a change gains.
    """
    fn, args = PROFILED[path]
    profiler = cProfile.Profile()

    async def main() -> None:
        profiler.enable()
        await fn(*args)
        profiler.disable()

    otp.run(main, use_uvloop=use_uvloop)
    print(f"=== {path} {args} ===")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# -- running and reporting -----------------------------------------------------------


def _loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not use_uvloop:
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_floor(
    fn: Callable[..., Coroutine[Any, Any, float]], args: tuple[object, ...], use_uvloop: bool
) -> float:
    gc.collect()
    with asyncio.Runner(loop_factory=_loop_factory(use_uvloop)) as runner:
        return runner.run(fn(*args))


def run_otp(
    fn: Callable[..., Coroutine[Any, Any, float]], args: tuple[object, ...], use_uvloop: bool
) -> float:
    gc.collect()
    return otp.run(fn, *args, use_uvloop=use_uvloop)


@dataclass
class Row:
    """One measure on one loop: per-repetition values for the floor and otp."""

    measure: str
    loop: str
    target: str
    erlang: str
    meets: Callable[[float, float], bool]
    floor: list[float] = field(default_factory=list)
    otp: list[float] = field(default_factory=list)

    def ratio(self) -> float:
        return statistics.median(o / f for o, f in zip(self.otp, self.floor, strict=True))

    def cells(self) -> list[str]:
        f, o = statistics.median(self.floor), statistics.median(self.otp)
        ratio = self.ratio()
        ok = "yes" if self.meets(o, ratio) else "no"
        return [
            self.measure,
            self.loop,
            _fmt(f),
            _fmt(o),
            f"{ratio:.2f}x",
            self.target,
            ok,
            self.erlang,
        ]


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Sizes:
    calls: int
    casts: int
    callers: int
    each: int
    idle: int
    traced: int
    reps: int
    idle_reps: int


FULL = Sizes(
    calls=200_000,
    casts=1_000_000,
    callers=100,
    each=2_000,
    idle=1_000_000,
    traced=20_000,
    reps=5,
    idle_reps=3,
)
QUICK = Sizes(
    calls=50_000,
    casts=200_000,
    callers=100,
    each=500,
    idle=100_000,
    traced=5_000,
    reps=3,
    idle_reps=1,
)


MEASURES = ("call", "casts", "concurrent", "idle")


def bench_loop(
    sizes: Sizes, use_uvloop: bool, only: set[str], log: Callable[[str], None]
) -> list[Row]:
    loop = "uvloop" if use_uvloop else "asyncio"
    n_idle = f"{sizes.idle:,}"
    call = Row(
        "call round trip (us/call)",
        loop,
        "<= 1.0x floor (aim 0.5x)",
        "1.06 us",
        lambda o, r: r <= 1.0,
    )
    casts = Row(
        "casts handled (M/s)",
        loop,
        ">= 1.5 M/s",
        "-",
        lambda o, r: o >= 1.5,
    )
    conc = Row(
        f"{sizes.callers} concurrent callers (k calls/s)",
        loop,
        ">= 1.0x floor",
        "-",
        lambda o, r: r >= 1.0,
    )
    mem = Row(
        f"{n_idle} idle servers: RSS (bytes/process)",
        loop,
        "< 1024 B",
        "2.5 KiB (2,560 B)",
        lambda o, r: o < 1024,
    )
    traced = Row(
        f"idle servers: tracemalloc (bytes/process, {sizes.traced:,})",
        loop,
        "< 1024 B",
        "-",
        lambda o, r: o < 1024,
    )
    start = Row(
        f"{n_idle} starts (us/start)",
        loop,
        "< 5 us",
        "-",
        lambda o, r: o < 5,
    )
    total = sizes.callers * sizes.each
    # (row, floor function, otp function, arguments, value from the seconds taken)
    timed: list[tuple[Row, Measure, Measure, tuple[object, ...], Callable[[float], float]]] = [
        (call, floor_calls, otp_calls, (sizes.calls,), lambda s: s * 1e6 / sizes.calls),
        (casts, floor_casts, otp_casts, (sizes.casts,), lambda s: sizes.casts / s / 1e6),
        (
            conc,
            floor_concurrent,
            otp_concurrent,
            (sizes.callers, sizes.each),
            lambda s: total / s / 1e3,
        ),
    ]
    timed = [t for t, name in zip(timed, MEASURES, strict=False) if name in only]
    for rep in range(sizes.reps if timed else 0):
        for row, floor_fn, otp_fn, args, value in timed:
            # alternate which side goes first, so that neither always runs on a warmer machine
            if rep % 2 == 0:
                row.floor.append(value(run_floor(floor_fn, args, use_uvloop)))
                row.otp.append(value(run_otp(otp_fn, args, use_uvloop)))
            else:
                row.otp.append(value(run_otp(otp_fn, args, use_uvloop)))
                row.floor.append(value(run_floor(floor_fn, args, use_uvloop)))
        log(
            f"  {loop} rep {rep + 1}/{sizes.reps} (floor/otp): "
            + ", ".join(f"{row.measure} {row.floor[-1]:.2f}/{row.otp[-1]:.2f}" for row, *_ in timed)
        )
    for rep in range(sizes.idle_reps if "idle" in only else 0):
        order = ("floor", "otp") if rep % 2 == 0 else ("otp", "floor")
        for side in order:
            # tracemalloc is measured once, on the first repetition
            n_traced = sizes.traced if rep == 0 else 0
            r = run_idle(side, sizes.idle, n_traced, use_uvloop)
            target_start = start.floor if side == "floor" else start.otp
            target_mem = mem.floor if side == "floor" else mem.otp
            target_start.append(r["seconds"] * 1e6 / sizes.idle)
            target_mem.append(r["rss"])
            if n_traced:
                (traced.floor if side == "floor" else traced.otp).append(r["traced"])
        log(
            f"  {loop} idle rep {rep + 1}/{sizes.idle_reps}: start {start.floor[-1]:.2f}/"
            f"{start.otp[-1]:.2f} us, rss {mem.floor[-1]:.0f}/{mem.otp[-1]:.0f} B (floor/otp)"
        )
    rows = [call, casts, conc, start, mem, traced]
    return [row for row in rows if row.floor]


HEADER = [
    "measure",
    "loop",
    "floor",
    "otp",
    "otp/floor",
    "target",
    "met",
    "Erlang (reference, not measured here)",
]


def markdown(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    lines.extend("| " + " | ".join(row.cells()) + " |" for row in rows)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--all", action="store_true", help="run on asyncio and uvloop")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument("--json", metavar="PATH", help="also write every repetition here")
    parser.add_argument(
        "--only",
        default=",".join(MEASURES),
        help=f"comma-separated measures to run (default: all of {','.join(MEASURES)})",
    )
    parser.add_argument("--reps", type=int, help="repetitions of measures 1-3")
    parser.add_argument(
        "--profile",
        metavar="PATHS",
        help=f"instead of timing, cProfile some of: {','.join(PROFILED)}",
    )
    parser.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "N", "TRACED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        side, n, n_traced = args.child
        idle_child(side, int(n), int(n_traced), args.uvloop)
        return
    if args.profile:
        for path in args.profile.split(","):
            if path not in PROFILED:
                parser.error(f"--profile takes {', '.join(PROFILED)}; got {path!r}")
            profile(path, args.top, args.uvloop)
        return
    sizes = QUICK if args.quick else FULL
    if args.reps:
        sizes.reps = args.reps
    only = set(args.only.split(","))
    if only - set(MEASURES):
        parser.error(f"--only takes {', '.join(MEASURES)}; got {args.only!r}")
    loops = [False, True] if args.all else [args.uvloop]

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    t0 = perf()
    per_loop = [bench_loop(sizes, use_uvloop, only, log) for use_uvloop in loops]
    rows = [row for same_measure in zip(*per_loop, strict=True) for row in same_measure]
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; medians of {sizes.reps} repetitions "
        f"({sizes.idle_reps} for starts), {perf() - t0:.0f} s in all.\n"
    )
    print(markdown(rows))
    print(
        "\notp/floor is otp's median over the floor's per repetition (median of ratios): "
        "below 1 for times and bytes, above 1 for rates means otp beats the floor."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.__dict__ | {"meets": None} for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
