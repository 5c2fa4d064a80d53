"""Observer benchmark: what watching a node costs that node.

For 1,000, 10,000 and 100,000 idle GenServers, in one run:

- the time of one sample (`_probe.sample`, what the charts take each second);
- the time of one processes page sorted by queue (`_probe.processes_page`,
  what the processes view asks each second);
- the slowdown of a loop of call round-trips while the observer samples
  once a second, against the same loop without it (interleaved, ratio).

Usage::

    python bench/observer.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import otp
from otp.observer import _probe


class Idle(otp.GenServer):
    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> object:
        return otp.Reply(request, state)


async def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


async def _calls(server: otp.Pid, seconds: float) -> float:
    """Call round-trips per second for `seconds` of wall time."""
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            await otp.call(server, n)
        n += 100
    return n / seconds


async def _sampling() -> None:
    while True:
        await _probe.sample()
        await _probe.processes_page("queue", "desc", "", 0, 50)
        await asyncio.sleep(1.0)


async def _slowdown(server: otp.Pid, seconds: float, rounds: int) -> float:
    """Calls/s without the observer over calls/s with it, interleaved rounds."""
    bare = watched = 0.0
    for _ in range(rounds):
        bare += await _calls(server, seconds)
        task = otp.spawn(_watch)
        watched += await _calls(server, seconds)
        otp.exit(task, "kill")
    return bare / watched


async def _watch() -> None:
    await _sampling()


async def main(sizes: list[int], seconds: float, rounds: int) -> None:
    print(f"{'servers':>8} {'sample ms':>10} {'page ms':>9} {'call slowdown':>14}")
    started: list[object] = []
    for size in sizes:
        while len(started) < size:
            started.append(await Idle.start(None))
        server = await Idle.start(None)
        assert server is not None
        sample = await _best(_probe.sample, 3)
        page = await _best(lambda: _probe.processes_page("queue", "desc", "", 0, 50), 3)
        ratio = await _slowdown(server, seconds, rounds)
        print(f"{size:>8} {sample * 1e3:>10.1f} {page * 1e3:>9.1f} {ratio:>13.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    opts = parser.parse_args()
    secs, rounds = (1.0, 1) if opts.quick else (3.0, 3)
    otp.run(main, [1_000, 10_000, 100_000], secs, rounds)
