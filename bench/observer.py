"""Observer benchmark: what watching a node costs that node.

For 1,000, 10,000 and 100,000 idle GenServers (plus the benchmark's own
processes), in one run:

- sample ms: one sample (`_probe.sample`, what the charts take each
  second): the process count and the sum of `messages_handled`, each read
  alone with `otp.process_info(pid, "messages_handled")`; best of 3;
- page ms: one processes page, 50 rows sorted by queue length
  (`_probe.processes_page`, what the processes view asks each second),
  with a fresh listing (the sort key of every process, then full rows for
  the 50 shown); best of 3;
- cached ms: the same page while its listing is still shared
  (`_probe.LISTING_SECONDS`): another tab, or the next poll within it;
- call slowdown: call round-trips per second without the observer over
  the same with it, rounds interleaved in one run. "With it" is what a
  served dashboard does: `Sampler.run`, the server's own loop with its
  adaptive pause (one tick a second, fewer when a tick takes over a tenth
  of that), plus one open processes tab asking for a page each second
  through `Sources`, as the server's handler does.

Usage::

    python bench/observer.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import Any

import otp
from otp.observer import _probe
from otp.observer._sampler import Sampler
from otp.observer._sources import Sources


class Idle(otp.GenServer):
    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(request, state)


async def _best(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
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


async def _sampler() -> None:
    """What the observer's server process runs besides HTTP."""
    await Sampler(Sources()).run()


async def _tab() -> None:
    """An open processes view: one page a second."""
    sources = Sources()
    while True:
        await sources.call(otp.node(), "processes_page", "queue", "desc", "", 0, 50)
        try:
            await otp.receive(timeout=1.0)
        except TimeoutError:
            continue


async def _slowdown(server: otp.Pid, seconds: float, rounds: int) -> float:
    """Calls/s without the observer over calls/s with it, interleaved rounds."""
    bare = watched = 0.0
    for _ in range(rounds):
        bare += await _calls(server, seconds)
        watchers = [otp.spawn(_sampler), otp.spawn(_tab)]
        watched += await _calls(server, seconds)
        for pid in watchers:
            otp.exit(pid, "kill")
    return bare / watched


def _page() -> Awaitable[object]:
    return _probe.processes_page("queue", "desc", "", 0, 50)


async def _fresh_page() -> None:
    shared = _probe.LISTING_SECONDS
    _probe.LISTING_SECONDS = 0.0
    try:
        await _page()
    finally:
        _probe.LISTING_SECONDS = shared


async def main(sizes: list[int], seconds: float, rounds: int) -> None:
    head = ("servers", 8), ("sample ms", 10), ("page ms", 9), ("cached ms", 10), ("slowdown", 10)
    print(" ".join(f"{title:>{width}}" for title, width in head))
    started: list[object] = []
    for size in sizes:
        while len(started) < size:
            started.append(await Idle.start(None))
        server = await Idle.start(None)
        assert server is not None
        sample = await _best(_probe.sample, 3)
        page = await _best(_fresh_page, 3)
        await _page()
        cached = await _best(_page, 3)
        ratio = await _slowdown(server, seconds, rounds)
        print(
            f"{size:>8} {sample * 1e3:>10.1f} {page * 1e3:>9.1f} {cached * 1e3:>10.2f}"
            f" {ratio:>9.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    opts = parser.parse_args()
    secs, rounds = (1.0, 1) if opts.quick else (3.0, 3)
    otp.run(main, [1_000, 10_000, 100_000], secs, rounds)
