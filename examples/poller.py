"""A periodic poller: a GenServer that wakes itself up with `otp.send_after`.

    python examples/poller.py

`init` schedules the first tick; `handle_info("tick", ...)` does the work
and schedules the next one, so ticks never overlap and a slow poll delays
the next one instead of piling up (Elixir's `Process.send_after(self(),
:tick, interval)` pattern). Any other message lands in the catch-all
`handle_info` clause, which logs it and drops it: a server must not let
stray messages pile up in its mailbox. After `ticks` polls it stops.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import otp

logger = logging.getLogger("poller")


@dataclass
class Settings:
    interval: float  # seconds between polls
    ticks: int  # polls before stopping
    report_to: otp.Pid  # gets ("polled", n, seconds since start) after each poll


@dataclass
class State:
    settings: Settings
    started: float
    polls: int = 0
    timer: otp.TimerRef | None = field(default=None, repr=False)


class Poller(otp.GenServer[State]):
    def init(self, arg: Settings) -> State:
        state = State(arg, started=asyncio.get_running_loop().time())
        state.timer = otp.send_after(otp.self(), "tick", arg.interval)
        return state

    def handle_info(self, msg: object, state: State) -> otp.NoReply[State] | otp.Stop[State]:
        match msg:
            case "tick":
                return self.poll(state)
            case _:
                logger.warning("dropping unexpected message %r", msg)
                return otp.NoReply(state)

    def poll(self, state: State) -> otp.NoReply[State] | otp.Stop[State]:
        state.polls += 1
        elapsed = asyncio.get_running_loop().time() - state.started
        print(f"poll {state.polls} at t={elapsed:.1f}s")  # the work: fetch, compare, publish
        otp.send(state.settings.report_to, ("polled", state.polls, elapsed))
        if state.polls == state.settings.ticks:
            return otp.Stop("normal", state)
        state.timer = otp.send_after(otp.self(), "tick", state.settings.interval)
        return otp.NoReply(state)

    def terminate(self, reason: object, state: State) -> None:
        if state.timer is not None:
            otp.cancel_timer(state.timer)  # a stopped poller leaves no tick behind
        print(f"poller stopped ({reason}) after {state.polls} polls")


async def main(interval: float = 0.5, ticks: int = 3) -> list[float]:
    """Poll `ticks` times, `interval` seconds apart; return when each poll ran."""
    pid = await Poller.start_link(Settings(interval, ticks, report_to=otp.self()))
    assert pid is not None
    ref = otp.monitor(pid)
    otp.send(pid, "hello?")  # not a tick: logged and dropped
    times: list[float] = []
    while True:
        match await otp.receive():
            case ("polled", int(), float(elapsed)):
                times.append(elapsed)
            case otp.Down(ref=r, reason=reason) if r == ref:
                print(f"main: the poller exited with {reason!r}")
                return times
            case other:
                raise AssertionError(f"unexpected message {other!r}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    otp.run(main)
