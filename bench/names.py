"""The seed's advice, measured: Table reads, partitions, and Registry rates.

Three comparisons, each side by side in one run:

1. reads through a GenServer call vs a `Table` lookup (the "use ETS for
   reads" advice): lookups per second of the same key/value data;
2. one GenServer vs a PartitionSupervisor with 8 partitions, under 100
   concurrent callers whose handler awaits I/O (an `asyncio.sleep` of
   1 ms stands for a database round trip): calls per second;
3. Registry register / lookup / dispatch per second, beside Elixir's
   Registry for the same workload (`bench/names.exs`, run with the
   system's `elixir` if installed).

Usage::

    python bench/names.py [--uvloop] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import time
from typing import Any

import otp

perf = time.perf_counter
HERE = os.path.dirname(os.path.abspath(__file__))


class Store(otp.GenServer):
    """Serves reads of a dict: the singleton the Table replaces."""

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, dict)
        return otp.Reply(state.get(request), state)


class Slow(otp.GenServer):
    """A handler that waits on I/O (1 ms) before answering."""

    async def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        await asyncio.sleep(0.001)
        return otp.Reply(request, state)


async def reads(n: int) -> dict[str, float]:
    data = {i: i * i for i in range(1000)}
    pid = await Store.start_link(data)
    assert pid is not None
    table = otp.Table(type="set", access="protected")
    table.insert([(k, v) for k, v in data.items()])
    t0 = perf()
    for i in range(n):
        await otp.call(pid, i % 1000)
    call_rate = n / (perf() - t0)
    t0 = perf()
    for i in range(n):
        table.lookup(i % 1000)
    lookup_rate = n / (perf() - t0)
    return {"call": call_rate, "table": lookup_rate}


async def callers(server: otp.Pid | None, route: bool, calls: int) -> float:
    async def caller(i: int) -> None:
        for j in range(calls):
            key = i * calls + j
            target = otp.PartitionSupervisor.via("slow", key) if route else server
            assert target is not None
            await otp.call(target, key)

    t0 = perf()
    tasks = [otp.Task.async_(caller, i) for i in range(100)]
    for task in tasks:
        await otp.Task.await_(task, timeout=None)
    return 100 * calls / (perf() - t0)


async def partitions(calls: int) -> dict[str, float]:
    single = await Slow.start_link(None)
    await otp.PartitionSupervisor.start_link(Slow.child_spec(None), name="slow", partitions=8)
    return {
        "single": await callers(single, False, calls),
        "partitioned": await callers(None, True, calls),
    }


async def registry(n: int) -> dict[str, float]:
    await otp.Registry.start_link(keys="unique", name="reg_u")
    await otp.Registry.start_link(keys="duplicate", name="reg_d")
    t0 = perf()
    for i in range(n):
        otp.Registry.register("reg_u", i, i)
    register = n / (perf() - t0)
    t0 = perf()
    for i in range(n):
        otp.Registry.lookup("reg_u", i)
    lookup = n / (perf() - t0)
    for _ in range(100):
        otp.Registry.register("reg_d", "topic", None)
    delivered = 0

    def deliver(entries: list[tuple[otp.Pid, object]]) -> None:
        nonlocal delivered
        delivered += len(entries)

    rounds = max(1, n // 100)
    t0 = perf()
    for _ in range(rounds):
        otp.Registry.dispatch("reg_d", "topic", deliver)
    dispatch = delivered / (perf() - t0)
    return {"register": register, "lookup": lookup, "dispatch": dispatch}


async def otp_side(quick: bool) -> dict[str, dict[str, float]]:
    n = 20_000 if quick else 200_000
    return {
        "reads": await reads(n),
        "partitions": await partitions(5 if quick else 20),
        "registry": await registry(n // 2),
    }


def elixir_side(n: int) -> dict[str, float] | None:
    elixir = shutil.which("elixir")
    if elixir is None:
        return None
    out = subprocess.run(
        [elixir, os.path.join(HERE, "names.exs"), str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.getLogger("otp").setLevel(logging.ERROR)
    ours = otp.run(otp_side, args.quick, use_uvloop=args.uvloop)
    n = (20_000 if args.quick else 200_000) // 2
    theirs = elixir_side(n)
    loop = "uvloop" if args.uvloop else "asyncio"
    r, p, g = ours["reads"], ours["partitions"], ours["registry"]
    print(f"| measure ({loop}) | baseline | otp | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| reads: GenServer call vs Table lookup | {r['call'] / 1e3:,.0f} k/s "
        f"| {r['table'] / 1e3:,.0f} k/s | {r['table'] / r['call']:.1f}x |"
    )
    print(
        f"| 100 callers, handler awaits 1 ms I/O: 1 server vs 8 partitions "
        f"| {p['single']:,.0f} calls/s | {p['partitioned']:,.0f} calls/s "
        f"| {p['partitioned'] / p['single']:.1f}x |"
    )
    for key in ("register", "lookup", "dispatch"):
        mine = g[key]
        if theirs is None:
            print(f"| Registry {key}: Elixir vs otp | (no elixir) | {mine / 1e3:,.0f} k/s | |")
        else:
            other = theirs[key]
            print(
                f"| Registry {key}: Elixir vs otp | {other / 1e3:,.0f} k/s "
                f"| {mine / 1e3:,.0f} k/s | {mine / other:.2f}x |"
            )


if __name__ == "__main__":
    main()
