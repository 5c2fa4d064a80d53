"""The charts' data: one sample a second of each node being watched.

A sample (`_probe.sample`) counts processes, messages handled so far and
memory. The message rate is the difference of two samples'
`handled` over the time between them; processes that died in between take
their counts with them, so a negative difference is shown as 0.

This node is always sampled; another node only while a page asked for it
in the last `WATCH` seconds, so a forgotten tab does not keep erpc traffic up.

>>> s = Sampler(None)
>>> s.add("a@h", {"time": 1.0, "processes": 3, "handled": 10, "memory": 5})
>>> s.add("a@h", {"time": 2.0, "processes": 3, "handled": 25, "memory": 5})
>>> [p["rate"] for p in s.series("a@h")]
[0.0, 15.0]
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING

import otp

if TYPE_CHECKING:
    from ._sources import Sources

logger = logging.getLogger("otp.observer")

#: Samples kept per node (five minutes at one a second).
KEEP = 300
#: Seconds a node stays sampled after a page last asked for it.
WATCH = 30.0
#: Seconds between samples, at least; more on a big node (see `pause_after`).
PERIOD = 1.0
#: The share of the event loop's time that sampling may take.
SHARE = 0.1
#: What `Sampler.run` stops on.
STOP = ("$observer", "stop")


def pause_after(elapsed: float) -> float:
    """Seconds to wait after a tick that took `elapsed`: `PERIOD`, or longer when
    a tick is so slow that sampling would take over `SHARE` of the loop's time.

    >>> pause_after(0.02), pause_after(0.5)
    (1.0, 5.0)
    """
    return max(PERIOD, elapsed / SHARE)


class Sampler:
    """The recent samples of each watched node."""

    def __init__(self, sources: Sources | None) -> None:
        self.sources = sources
        self.points: dict[str, deque[dict[str, object]]] = {}
        self.last: dict[str, dict[str, object]] = {}
        self.watched: dict[str, float] = {}

    def watch(self, node: str) -> None:
        """A page shows `node`: sample it for the next `WATCH` seconds."""
        self.watched[node] = time.monotonic()

    def series(self, node: str) -> list[dict[str, object]]:
        return list(self.points.get(node, ()))

    def latest(self, node: str) -> dict[str, object] | None:
        points = self.points.get(node)
        return points[-1] if points else None

    def add(self, node: str, sample: dict[str, object]) -> None:
        """Record `sample` of `node`, with the message rate since the previous one."""
        prev = self.last.get(node)
        self.last[node] = sample
        rate: float | None = 0.0
        handled, t = sample.get("handled"), sample.get("time")
        if handled is None:
            rate = None  # an Erlang node: no count of messages handled
        elif prev is not None:
            dt = _num(t) - _num(prev.get("time"))
            if dt > 0 and prev.get("handled") is not None:
                rate = max(0.0, (_num(handled) - _num(prev.get("handled"))) / dt)
        point = {
            "t": t,
            "processes": sample.get("processes"),
            "rate": rate,
            "memory": sample.get("memory"),
        }
        self.points.setdefault(node, deque(maxlen=KEEP)).append(point)

    async def run(self) -> None:
        """Tick in the calling process, `pause_after` apart, until it receives `STOP`."""
        while True:
            t0 = time.perf_counter()
            await self.tick()
            try:
                msg = await otp.receive(timeout=pause_after(time.perf_counter() - t0))
            except TimeoutError:
                continue
            if msg == STOP:
                return

    async def tick(self) -> None:
        """Take one sample of this node and of each node still watched."""
        assert self.sources is not None
        now = time.monotonic()
        here = otp.node()
        nodes = [here] + [n for n, t in self.watched.items() if n != here and now - t < WATCH]
        connected = set(otp.nodes())
        for node in nodes:
            if node != here and node not in connected:
                continue
            try:
                sample = await self.sources.call(node, "sample")
            except Exception as exc:  # a node that went away: try again next second
                logger.debug("observer: no sample of %s: %r", node, exc)
                continue
            self.add(node, sample)


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0
