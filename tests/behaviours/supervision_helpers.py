"""Shared by the supervision tests: workers with known behaviour, and waiting helpers.

Everything here runs on a virtual clock (`run`); waits are bounded by
`PATIENCE` virtual seconds, so a message that never comes fails a test at
once instead of hanging it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import otp
from otp.testing import VirtualClock

T = TypeVar("T")

#: Virtual seconds a test waits for a message before failing instead of hanging.
PATIENCE = 3600.0


def run(main: Callable[[], Coroutine[object, object, T]]) -> T:
    """`otp.run` on a virtual clock: a message that never comes fails the test at once."""
    return VirtualClock().run(main)


class Worker(otp.GenServer):
    """State is its arg; `"get"` returns it; `("stop", reason)` stops with `reason`."""

    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if type(request) is tuple and request[0] == "stop":
            return otp.Stop(request[1], state, reply="ok")
        return otp.Reply(state, state)


class Reporter(otp.GenServer):
    """Traps exits; sends `("up", name, pid)` from init, `("down", name, reason)` from terminate."""

    def init(self, arg: object) -> object:
        assert type(arg) is tuple
        name, to = arg
        otp.trap_exit(True)
        otp.send(to, ("up", name, otp.self()))
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)

    def terminate(self, reason: object, state: object) -> None:
        assert type(state) is tuple
        otp.send(state[1], ("down", state[0], reason))


class Ignoring(otp.GenServer):
    def init(self, arg: object) -> object:
        return otp.Ignore()


async def wait_down(ref: otp.Ref) -> object:
    msg = await otp.receive(PATIENCE, lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(msg, otp.Down)
    return msg.reason


async def stop_with(pid: otp.Pid | None, reason: object) -> None:
    """Make `pid` exit with `reason` (an exit signal) and wait until it is gone."""
    assert pid is not None
    ref = otp.monitor(pid)
    otp.exit(pid, reason)
    await wait_down(ref)


async def exit_normally(pid: otp.Pid | None, reason: object = "normal") -> None:
    """Make a Worker return `Stop(reason)` (its own decision) and wait until it is gone."""
    assert pid is not None
    ref = otp.monitor(pid)
    assert await otp.call(pid, ("stop", reason)) == "ok"
    await wait_down(ref)


async def advance(seconds: float) -> None:
    """Let `seconds` of virtual time pass for the calling process (a timer, not a sleep)."""
    tick = otp.make_ref()
    otp.send_after(otp.self(), tick, seconds)
    await otp.receive(PATIENCE, lambda m: m == tick)
