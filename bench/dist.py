"""Distribution benchmark: Python and Erlang nodes calling each other, in one run.

Four directions over loopback TCP, each a client node calling an echo server
registered as `echo` on another node (a separate OS process):

- Python -> Python: this program calls a Python node it starts (`--serve`);
- Python -> Erlang: this program calls an Erlang node (`bench/dist.escript`);
- Erlang -> Python: an Erlang node calls this program's echo server;
- Erlang -> Erlang: the baseline, two Erlang nodes.

Two measures for each:

1. call latency: sequential `call`s of a small request, `{echo, 12345,
   <<"hello">>}`, answered with itself (us per call);
2. cast throughput: casts of `{tick, N}`, closed by one call that returns
   how many arrived (casts per second).

The Erlang side prints its measures as JSON; it needs `escript` and `epmd`
(Erlang/OTP) on the PATH. Repetitions of the four directions are
interleaved (the order rotates each time) and the table reports medians;
the ratios are the medians of the per-repetition ratios to Erlang -> Erlang.
The targets, as ratios to Erlang -> Erlang: calls within 1.3x from and to
Erlang and within 1.5x between Python nodes; casts at least 1.0x. The codec's
cost per encode and decode of the same messages is printed too (with the
codec `otp.distribution.codec` names; `bench/codec.py` compares both codecs).

Usage::

    python bench/dist.py [--uvloop] [--quick] [--reps N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import otp
import otp.distribution
from otp import Atom
from otp.distribution import ImproperList, decode, encode

perf = time.perf_counter
HERE = os.path.dirname(os.path.abspath(__file__))
ESCRIPT = os.path.join(HERE, "dist.escript")
COOKIE = "bench-dist-cookie"
HOST = "127.0.0.1"
REQUEST = (Atom("echo"), 12345, "hello")
COUNT = Atom("count")
WARMUP = 200
#: Seconds a peer may take to answer: a bound against hangs, never reached in a normal run.
GUARD = 120.0


class Echo(otp.GenServer):
    """Answers a call with the request; counts casts; `count` returns and resets the count."""

    def init(self, arg: object) -> int:
        return 0

    def handle_call(self, request: object, from_: otp.From, count: object) -> otp.Reply:
        if request == COUNT:
            return otp.Reply(count, 0)
        return otp.Reply(request, count)

    def handle_cast(self, request: object, count: object) -> otp.NoReply:
        assert isinstance(count, int)
        return otp.NoReply(count + 1)


# -- the Python client ----------------------------------------------------------------------


async def py_latency(server: tuple[str, str], n: int) -> float:
    """Microseconds per call, over `n` sequential calls (after a warm-up)."""
    for _ in range(WARMUP):
        await otp.call(server, REQUEST)
    t0 = perf()
    for _ in range(n):
        await otp.call(server, REQUEST)
    return (perf() - t0) * 1e6 / n


async def py_throughput(server: tuple[str, str], n: int) -> float:
    """Casts per second: `n` casts, closed by one call that reports how many arrived."""
    await otp.call(server, COUNT)
    t0 = perf()
    for i in range(n):
        otp.cast(server, (Atom("tick"), i))
    arrived = await otp.call(server, COUNT, timeout=GUARD)
    seconds = perf() - t0
    assert arrived == n, f"{n} casts sent, {arrived} arrived"
    return n / seconds


# -- peers: the other nodes, as subprocesses ----------------------------------------------------


class Peer:
    """A node in a subprocess that prints `ready`, then one line per request."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc

    @classmethod
    async def start(cls, name: str, *args: str) -> Peer:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        peer = cls(name, proc)
        line = await peer.line()
        if line != "ready":
            await peer.stop()
            raise RuntimeError(f"node {name} did not start: it printed {line!r}")
        return peer

    async def line(self) -> str:
        assert self.proc.stdout is not None
        async with asyncio.timeout(GUARD):
            raw = await self.proc.stdout.readline()
        if not raw:
            raise RuntimeError(f"node {self.name} exited (status {await self.proc.wait()})")
        return raw.decode().strip()

    async def ask(self, request: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(request.encode() + b"\n")
        return await self.line()

    async def stop(self) -> None:
        """Close its input, on which it exits; kill it if it does not."""
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                async with asyncio.timeout(GUARD):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
        await self.proc.wait()


def erlang_peer(role: str, name: str) -> Awaitable[Peer]:
    return Peer.start(name, "escript", ESCRIPT, role, name, COOKIE)


def python_peer(name: str, use_uvloop: bool) -> Awaitable[Peer]:
    args = [sys.executable, os.path.abspath(__file__), "--serve", name]
    return Peer.start(name, *args, *(["--uvloop"] if use_uvloop else []))


async def serve() -> None:
    """The Python server node (`--serve NAME`): an echo server until its input closes."""
    await Echo.start(None, name="echo")
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    await stdin.read()


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Sizes:
    calls: int
    casts: int
    reps: int
    codec: int


FULL = Sizes(calls=10_000, casts=50_000, reps=5, codec=100_000)
QUICK = Sizes(calls=2_000, casts=10_000, reps=3, codec=20_000)

DIRECTIONS = ("Python -> Python", "Python -> Erlang", "Erlang -> Python", "Erlang -> Erlang")
BASELINE = "Erlang -> Erlang"


@dataclass
class Row:
    direction: str
    call_us: list[float] = field(default_factory=list)
    casts_per_s: list[float] = field(default_factory=list)


Measure = Callable[[], Awaitable[tuple[float, float]]]


async def bench(sizes: Sizes, use_uvloop: bool, log: Callable[[str], None]) -> list[Row]:
    """Start the peers, measure every direction `sizes.reps` times, stop the peers."""
    me, tag = otp.node(), os.getpid()
    await Echo.start(None, name="echo")  # what the Erlang client calls in Erlang -> Python
    peers = await asyncio.gather(
        python_peer(f"bench{tag}_py@{HOST}", use_uvloop),
        erlang_peer("server", f"bench{tag}_erl@{HOST}"),
        erlang_peer("client", f"bench{tag}_erlc@{HOST}"),
        return_exceptions=True,
    )
    try:
        started = [p for p in peers if isinstance(p, Peer)]
        if len(started) < len(peers):
            raise next(p for p in peers if isinstance(p, BaseException))
        py, erl, erl_client = started

        async def python_client(node: str) -> tuple[float, float]:
            server = ("echo", node)
            return await py_latency(server, sizes.calls), await py_throughput(server, sizes.casts)

        async def erlang_client(node: str) -> tuple[float, float]:
            out = json.loads(await erl_client.ask(f"{node} {sizes.calls} {sizes.casts}"))
            return float(out["call_us"]), float(out["casts_per_s"])

        measures: dict[str, Measure] = {
            "Python -> Python": lambda: python_client(py.name),
            "Python -> Erlang": lambda: python_client(erl.name),
            "Erlang -> Python": lambda: erlang_client(me),
            "Erlang -> Erlang": lambda: erlang_client(erl.name),
        }
        rows = {d: Row(d) for d in DIRECTIONS}
        for rep in range(sizes.reps):
            # rotate the order, so that no direction always runs first or last
            for direction in DIRECTIONS[rep % 4 :] + DIRECTIONS[: rep % 4]:
                us, rate = await measures[direction]()
                rows[direction].call_us.append(us)
                rows[direction].casts_per_s.append(rate)
            log(
                f"  rep {rep + 1}/{sizes.reps}: "
                + ", ".join(
                    f"{d} {r.call_us[-1]:.1f} us {r.casts_per_s[-1]:,.0f}/s"
                    for d, r in rows.items()
                )
            )
        return list(rows.values())
    finally:
        await asyncio.gather(*(p.stop() for p in peers if isinstance(p, Peer)))


def codec_times(n: int) -> list[tuple[str, float, float]]:
    """Microseconds per encode and per decode of the request and of a whole call message."""
    call = (
        Atom("$gen_call"),
        (otp.self(), ImproperList([Atom("alias")], otp.make_ref())),
        REQUEST,
    )
    times = []
    for label, term in (("request", REQUEST), ("call message ($gen_call, pid, alias)", call)):
        data = encode(term)
        enc = _best_of(3, n, functools.partial(encode, term))
        dec = _best_of(3, n, functools.partial(decode, data))
        times.append((f"{label}, {len(data)} bytes", enc, dec))
    return times


def _best_of(repeat: int, n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = perf()
        for _ in range(n):
            fn()
        best = min(best, (perf() - t0) * 1e6 / n)
    return best


# -- the report ---------------------------------------------------------------------------------


def ratios(values: list[float], base: list[float]) -> float:
    return statistics.median(v / b for v, b in zip(values, base, strict=True))


def markdown(rows: list[Row]) -> str:
    base = next(r for r in rows if r.direction == BASELINE)
    lines = [
        "| direction | call latency (us/call) | vs Erlang -> Erlang | casts/s "
        "| vs Erlang -> Erlang | target: calls <= 1.3x (1.5x Py -> Py), casts >= 1.0x |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        call_ratio = ratios(row.call_us, base.call_us)
        cast_ratio = ratios(row.casts_per_s, base.casts_per_s)
        if row is base:
            verdict = "baseline"
        else:
            call_target = 1.5 if row.direction == "Python -> Python" else 1.3
            calls_met = "met" if call_ratio <= call_target else "not met"
            casts_met = "met" if cast_ratio >= 1.0 else "not met"
            verdict = f"{calls_met} / {casts_met}"
        lines.append(
            f"| {row.direction} | {statistics.median(row.call_us):.1f} | {call_ratio:.2f}x "
            f"| {statistics.median(row.casts_per_s):,.0f} | {cast_ratio:.2f}x | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--uvloop", action="store_true", help="run the Python nodes on uvloop")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument("--reps", type=int, help="repetitions of the four directions")
    parser.add_argument("--serve", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        otp.run(serve, node=args.serve, cookie=COOKIE, use_uvloop=args.uvloop)
        return
    missing = [p for p in ("escript", "epmd") if shutil.which(p) is None]
    if missing:
        sys.exit(f"bench/dist.py needs Erlang/OTP: {', '.join(missing)} not found on the PATH")
    sizes = QUICK if args.quick else FULL
    if args.reps:
        sizes.reps = args.reps

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def run() -> tuple[list[Row], list[tuple[str, float, float]]]:
        rows = await bench(sizes, args.uvloop, log)
        return rows, codec_times(sizes.codec)

    t0 = perf()
    rows, codec = otp.run(run, node=f"bench{os.getpid()}@{HOST}", cookie=COOKIE,
                          use_uvloop=args.uvloop)  # fmt: skip
    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"Python {platform.python_version()} ({loop}) and Erlang/OTP on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, loopback TCP; {sizes.calls:,} calls and {sizes.casts:,} casts "
        f"per measure, medians of {sizes.reps} repetitions, {perf() - t0:.0f} s in all.\n"
    )
    print(markdown(rows))
    print(
        "\nThe term codec (otp.distribution.encode / decode, "
        f"{otp.distribution.codec}), best of 3:\n"
    )
    print("| term | encode (us) | decode (us) |\n|---|---|---|")
    for label, enc, dec in codec:
        print(f"| {label} | {enc:.2f} | {dec:.2f} |")


if __name__ == "__main__":
    main()
