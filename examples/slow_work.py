"""Slow work, a few jobs at a time: `Task.async_stream`, `Task.async_` and an `Agent`.

Each "download" takes a while; one of them hangs. The stream runs at most
three at once, gives each one second, and reports the hung one as
`("exit", "timeout")` instead of waiting for it. An Agent keeps the tally.

Run it with `python examples/slow_work.py`.
"""

from __future__ import annotations

import asyncio

import otp

#: Seconds each download takes; the one of "slow.example" never finishes in time.
DELAYS = {"a.example": 0.05, "b.example": 0.2, "slow.example": 60.0, "c.example": 0.1}


async def download(host: str) -> int:
    await asyncio.sleep(DELAYS[host])
    return int(DELAYS[host] * 10_000)  # the "size" of the page


async def main() -> None:
    tally = await otp.Agent.start_link(lambda: {"ok": 0, "failed": 0})

    hosts = iter(DELAYS)  # the stream is ordered: outcomes come in input order
    results = otp.Task.async_stream(
        download, DELAYS, max_concurrency=3, timeout=1.0, on_timeout="kill_task"
    )
    async with results:  # leaving the block early would stop the downloads still running
        async for outcome in results:
            host = next(hosts)
            match outcome:
                case ("ok", size):
                    print(f"{host}: {size} bytes")
                    await otp.Agent.update(tally, lambda t: {**t, "ok": t["ok"] + 1})
                case ("exit", reason):
                    print(f"{host}: gave up ({reason})")
                    await otp.Agent.update(tally, lambda t: {**t, "failed": t["failed"] + 1})

    # One more job in the background while we look at the tally.
    total = otp.Task.async_(lambda: sum(len(h) for h in DELAYS))
    print("tally:", await otp.Agent.get(tally, dict))
    print("characters in host names:", await total)


if __name__ == "__main__":
    otp.run(main)
