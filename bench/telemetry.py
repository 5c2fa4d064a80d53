"""What telemetry costs a call and a cast: no handler, and a no-op handler attached.

Both columns come from the same run, one node, alternating rounds (best of
`--rounds`), so the machine's speed cancels out of the ratio:

    python bench/telemetry.py            # 20,000 calls and casts per round
    python bench/telemetry.py -n 100000 --rounds 7

With a handler attached, calls and casts leave the fast paths (inline
`handle_call`, the batch's inlined `handle_cast`) for spans that read the
loop's clock twice and call the handlers of start and stop. For instruction
counts without handlers against a base revision, see `bench/instructions.py`.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import otp

EVENTS = [
    (*kind, when) for kind in (("otp", "call"), ("otp", "cast")) for when in ("start", "stop")
]


class Echo(otp.GenServer):
    def init(self, arg: object) -> object:
        return 0

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int)
        return otp.NoReply(state + 1)


def noop(event: tuple[str, ...], m: dict[str, object], md: dict[str, object], c: object) -> None:
    pass


async def calls(pid: otp.Pid, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        await otp.call(pid, i)
    return (time.perf_counter() - t0) / n


async def casts(pid: otp.Pid, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        otp.cast(pid, i)
    await otp.call(pid, None, timeout=None)  # after every cast
    return (time.perf_counter() - t0) / n


async def measure(n: int, rounds: int) -> dict[str, tuple[float, float]]:
    pid = await Echo.start_link(None)
    assert pid is not None
    best: dict[str, list[float]] = {"call": [1e9, 1e9], "cast": [1e9, 1e9]}
    for _ in range(rounds):
        for attached in (0, 1):
            if attached:
                otp.telemetry.attach_many("bench", EVENTS, noop)
            best["call"][attached] = min(best["call"][attached], await calls(pid, n))
            best["cast"][attached] = min(best["cast"][attached], await casts(pid, n))
            if attached:
                otp.telemetry.detach("bench")
    return {k: (v[0], v[1]) for k, v in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="calls and casts per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # The casts of a round queue up at once: no long-mailbox warning for them.
    results = otp.run(measure, args.n, args.rounds, mailbox_warning=None)
    print("| operation | no handler (µs) | no-op handler (µs) | ratio |")
    print("|---|---:|---:|---:|")
    for name, (bare, handled) in results.items():
        print(f"| {name} | {bare * 1e6:.2f} | {handled * 1e6:.2f} | {handled / bare:.2f}x |")


if __name__ == "__main__":
    main()
