"""Every core: CPU-bound work spread over worker nodes, against one node, in one run.

One program (this one, a node named `cores@127.0.0.1`) starts worker nodes
with `otp.peer.start_pool(n)` (each a new OS process) and pushes CPU-bound
items through them:

1. a task stream: `Task.async_stream(work, items, nodes=pool.nodes,
   chunk_size=K)`, against the same stream (same chunks) run on this node
   alone (no `nodes=`);
2. partitions: a `PartitionSupervisor` of GenServers that compute in
   `handle_call`, with `nodes=pool.nodes` (one partition per node), fed by
   two caller processes per partition (so that a request is queued while
   the other's reply travels), each sending batches of `K` items per call;
   against the same partitions all on this node.

Each item is about 1 ms of pure-Python work (`work(n)`, calibrated at the
start). The one-node runs are the baselines, measured in the same run and
interleaved with the pool runs (machines here are shared and noisy: the
ratios are what to read). For each worker count (1, 2, and the number of
CPUs, when that is more) it prints items per second and the speed-up over
one node.

The per-message overhead is measured too: empty remote tasks and empty
remote calls, one at a time (microseconds of wall time per round trip,
with both sides on one machine).

Usage::

    python bench/cores.py [--quick] [--items N] [--chunk K] [--reps R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import otp

perf = time.perf_counter
NODE = "cores@127.0.0.1"
COOKIE = "bench-cores-cookie"


# -- the work ------------------------------------------------------------------


def work(n: int) -> int:
    """About `n` steps of pure-Python arithmetic (holds the GIL throughout)."""
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return x


def work_batch(batch: list[int]) -> list[int]:
    return [work(n) for n in batch]


def calibrate(seconds: float = 0.001) -> int:
    """The `n` for which `work(n)` takes about `seconds` here."""
    n = 1000
    while True:
        start = perf()
        work(n)
        elapsed = perf() - start
        if elapsed > 0.02:
            return max(1, int(n * seconds / elapsed))
        n *= 2


def nothing(x: object) -> object:
    return x


class Cruncher(otp.GenServer):
    """A partition: `call(p, [n, ...])` runs `work(n)` for each and answers the results."""

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(request, list)
        return otp.Reply(work_batch(request), state)


# -- the runs ------------------------------------------------------------------


#: This node's CPU per item in the last stream run over worker nodes (us).
STARTER_CPU: list[float] = []


async def stream_run(items: list[int], nodes: list[str] | None, chunk: int) -> float:
    """Items per second through Task.async_stream (on `nodes`, or here)."""
    start, cpu = perf(), time.process_time()
    stream = otp.Task.async_stream(work, items, nodes=nodes, chunk_size=chunk, timeout=None)
    count = 0
    async for outcome in stream:
        assert outcome[0] == "ok"
        count += 1
    assert count == len(items)
    if nodes is not None:
        STARTER_CPU.append((time.process_time() - cpu) / len(items) * 1e6)
    return len(items) / (perf() - start)


async def _feed(name: str, key: int, batches: list[list[int]], done: otp.Pid) -> None:
    for batch in batches:
        result = await otp.call(otp.PartitionSupervisor.via(name, key), batch, timeout=None)
        assert isinstance(result, list) and len(result) == len(batch)
    otp.send(done, ("fed", key))


#: Callers per partition: one waits for its reply while the other's request is queued.
CALLERS = 2


async def partitions_run(
    items: list[int], nodes: list[str] | None, partitions: int, chunk: int
) -> float:
    """Items per second through a PartitionSupervisor, two callers per partition."""
    name = f"crunch{otp.make_ref()}"
    sup = await otp.PartitionSupervisor.start_link(
        Cruncher, name=name, partitions=partitions, nodes=nodes
    )
    callers = partitions * CALLERS
    share = [items[c::callers] for c in range(callers)]
    batches = [[s[i : i + chunk] for i in range(0, len(s), chunk)] for s in share]
    start = perf()
    for c in range(callers):
        otp.spawn_link(_feed, name, c % partitions, batches[c], otp.self())
    for _ in range(callers):
        await otp.receive(match=lambda m: isinstance(m, tuple) and m[0] == "fed")
    rate = len(items) / (perf() - start)
    otp.unlink(sup)
    await otp.stop(sup)
    return rate


async def overhead(nodes: list[str], count: int) -> dict[str, float]:
    """Per empty round trip to a worker, one at a time: wall and this node's CPU (us)."""
    node = nodes[0]
    name = f"echo{otp.make_ref()}"
    sup = await otp.PartitionSupervisor.start_link(Cruncher, name=name, partitions=1, nodes=[node])
    via = otp.PartitionSupervisor.via(name, 0)

    async def task() -> None:
        await otp.Task.async_(nothing, 1, node=node)

    async def call() -> None:
        await otp.call(via, [])

    found: dict[str, float] = {}
    for what, once in (("task", task), ("call", call)):
        for _ in range(50):
            await once()
        start, cpu = perf(), time.process_time()
        for _ in range(count):
            await once()
        found[f"{what}_us"] = (perf() - start) / count * 1e6
        found[f"{what}_cpu_us"] = (time.process_time() - cpu) / count * 1e6
    otp.unlink(sup)
    await otp.stop(sup)
    return found


# -- the driver ------------------------------------------------------------------


def worker_counts() -> list[int]:
    cpus = os.cpu_count() or 1
    return sorted({1, 2, cpus})


async def best(reps: int, run: Callable[[], Awaitable[float]]) -> list[float]:
    return [await run() for _ in range(reps)]


async def bench(args: argparse.Namespace) -> dict[str, object]:
    n = calibrate()
    items = [n] * args.items
    results: dict[str, object] = {"n": n, "items": args.items, "chunk": args.chunk}
    print(f"work(n={n}) takes about 1 ms here; {args.items} items, chunk_size={args.chunk}")
    rows = []
    for workers in worker_counts():
        pool = await otp.peer.start_pool(workers)
        try:
            await stream_run(items[: 4 * workers * args.chunk], pool.nodes, args.chunk)  # warm up
            one_s, many_s, one_p, many_p = [], [], [], []
            for _ in range(args.reps):
                one_s.append(await stream_run(items, None, args.chunk))
                many_s.append(await stream_run(items, pool.nodes, args.chunk))
                one_p.append(await partitions_run(items, None, workers, args.chunk))
                many_p.append(await partitions_run(items, pool.nodes, workers, args.chunk))
            if workers == 1:
                results["overhead"] = await overhead(pool.nodes, args.overhead)
        finally:
            await otp.peer.stop(pool)
        row = {
            "workers": workers,
            "starter_cpu_per_item_us": statistics.median(STARTER_CPU[-args.reps :]),
            "stream_one": statistics.median(one_s),
            "stream_pool": statistics.median(many_s),
            "stream_ratio": statistics.median(m / o for m, o in zip(many_s, one_s, strict=True)),
            "partitions_one": statistics.median(one_p),
            "partitions_pool": statistics.median(many_p),
            "partitions_ratio": statistics.median(
                m / o for m, o in zip(many_p, one_p, strict=True)
            ),
        }
        rows.append(row)
        print(
            f"  {workers} worker node(s): stream {row['stream_pool']:.0f}/s "
            f"({row['stream_ratio']:.2f}x one node), partitions {row['partitions_pool']:.0f}/s "
            f"({row['partitions_ratio']:.2f}x)",
            flush=True,
        )
    results["rows"] = rows
    return results


def table(results: dict[str, object]) -> str:
    rows = results["rows"]
    assert isinstance(rows, list)
    lines = [
        "| worker nodes | task stream, items/s | vs one node | partitions, items/s | vs one node |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['stream_pool']:.0f} | {r['stream_ratio']:.2f}x "
            f"| {r['partitions_pool']:.0f} | {r['partitions_ratio']:.2f}x |"
        )
    cpu = ", ".join(f"{r['starter_cpu_per_item_us']:.0f} us" for r in rows)
    lines.append(f"\nThis node's CPU per item of the pool's streams ({len(rows)} rows): {cpu}.")
    one = statistics.median(r["stream_one"] for r in rows)
    lines.append(f"One node alone: about {one:.0f} items/s (each item about 1 ms of work).")
    over = results.get("overhead")
    if isinstance(over, dict):
        lines.append(
            f"Empty round trip to a worker node, one at a time: a task {over['task_us']:.0f} us "
            f"({over['task_cpu_us']:.0f} us of this node's CPU), a call {over['call_us']:.0f} us "
            f"({over['call_cpu_us']:.0f} us of CPU)."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer items and one repetition")
    parser.add_argument("--items", type=int, default=2000, help="items per run (default 2000)")
    parser.add_argument("--chunk", type=int, default=20, help="items per message (default 20)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--overhead", type=int, default=500, help="round trips timed")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.quick:
        args.items, args.reps, args.overhead = 400, 1, 100
    results = otp.run(bench, args, node=NODE, cookie=COOKIE, slow_callback=None)
    print()
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
