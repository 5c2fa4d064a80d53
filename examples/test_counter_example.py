"""Testing a GenServer with otp's pytest plugin: copy this file to start your own.

    pip install otp pytest
    pytest test_counter_example.py

The plugin comes with `otp` (entry point `otp`): nothing to configure. A
test marked `@pytest.mark.otp` runs as a process of a fresh node, so it
can `call`, `send` and `receive`; `clock=True` (or asking for the
`virtual_clock` fixture) runs that node on virtual time, so a test of a
60-second timeout takes microseconds. `start_supervised` starts the
server under a supervisor that stops it when the test ends, and
`assert_receive` takes the message the test waits for out of its mailbox.
A process that crashes while nobody watches fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from unittest.mock import ANY

import pytest

import otp
from otp.testing import (
    VirtualClock,
    assert_receive,
    capture_crashes,
    refute_receive,
    start_supervised,
    wait_idle,
)

# -- the code under test ---------------------------------------------------------

#: Seconds without an increment after which the count starts again from 0.
IDLE = 60.0


@dataclass(frozen=True)
class State:
    count: int
    subscribers: tuple[otp.Pid, ...] = ()


class Counter(otp.GenServer[State]):
    """Counts increments; tells subscribers of each change; resets when idle for `IDLE` s."""

    @classmethod
    def increment(cls, server: otp.Pid | str = "counter") -> None:
        otp.cast(server, "increment")

    @classmethod
    async def value(cls, server: otp.Pid | str = "counter") -> int:
        count: int = await otp.call(server, "value")
        return count

    @classmethod
    async def subscribe(cls, server: otp.Pid | str = "counter") -> None:
        """Get `("count", n)` after each increment and `("reset", n)` when idle."""
        await otp.call(server, ("subscribe", otp.self()))

    def init(self, start: int) -> State:
        return State(start)

    def handle_call(self, request: object, from_: otp.From, state: State) -> otp.Reply[State]:
        match request:
            case "value":
                return otp.Reply(state.count, state, timeout=IDLE)
            case ("subscribe", otp.Pid() as pid):
                subscribed = replace(state, subscribers=(*state.subscribers, pid))
                return otp.Reply("ok", subscribed, timeout=IDLE)
        raise ValueError(f"Counter does not understand the call {request!r}")

    def handle_cast(self, request: object, state: State) -> otp.NoReply[State]:
        if request == "increment":
            count = state.count + 1
            notify(state, ("count", count))
            return otp.NoReply(replace(state, count=count), timeout=IDLE)
        raise ValueError(f"Counter does not understand the cast {request!r}")

    def handle_info(self, msg: object, state: State) -> otp.NoReply[State]:
        if msg == "timeout":  # no message for IDLE seconds
            notify(state, ("reset", state.count))
            return otp.NoReply(replace(state, count=0))
        return otp.NoReply(state)


def notify(state: State, msg: object) -> None:
    for pid in state.subscribers:
        otp.send(pid, msg)


# -- the tests -------------------------------------------------------------------


@pytest.mark.otp
async def test_increments_are_counted() -> None:
    await start_supervised(Counter.child_spec(0, name="counter"))
    for _ in range(3):
        Counter.increment()
    # A call queues behind the casts the same process sent before it.
    assert await Counter.value() == 3


@pytest.mark.otp
async def test_subscribers_hear_of_each_increment() -> None:
    await start_supervised(Counter.child_spec(10, name="counter"))
    await Counter.subscribe()
    Counter.increment()
    Counter.increment()
    assert await assert_receive(("count", 11)) == ("count", 11)
    # `ANY` matches any element; the matched message is returned, for a
    # `match` statement to take apart.
    match await assert_receive(("count", ANY)):
        case ("count", int(count)):
            assert count == 12
        case other:
            pytest.fail(f"not a count: {other!r}")


@pytest.mark.otp(clock=True)
async def test_an_idle_counter_resets_after_a_minute(virtual_clock: VirtualClock) -> None:
    await start_supervised(Counter.child_spec(0, name="counter"))
    await Counter.subscribe()
    Counter.increment()
    await assert_receive(("count", 1))
    # 60 s of virtual time pass at once: the test takes no real time.
    assert await assert_receive(("reset", ANY), timeout=IDLE + 1) == ("reset", 1)
    assert virtual_clock.time() == IDLE
    assert await Counter.value() == 0


@pytest.mark.otp(clock=True)
async def test_an_increment_puts_the_reset_off(virtual_clock: VirtualClock) -> None:
    await start_supervised(Counter.child_spec(0, name="counter"))
    await Counter.subscribe()
    await refute_receive(("reset", ANY), timeout=IDLE - 1)
    Counter.increment()
    await refute_receive(("reset", ANY), timeout=IDLE - 1)
    assert await Counter.value() == 1
    assert virtual_clock.time() == 2 * (IDLE - 1)


@pytest.mark.otp(clock=True)
async def test_a_crashed_counter_is_restarted_from_its_start_value() -> None:
    first = await start_supervised(Counter.child_spec(5, name="counter"))
    Counter.increment()
    # An unknown request crashes the server: its supervisor restarts it, so
    # the crash does not fail the test.
    with pytest.raises(otp.Exit):
        await otp.call("counter", "unknown request")
    await wait_idle()
    assert otp.whereis("counter") not in (None, first)
    assert await Counter.value() == 5


@pytest.mark.otp(clock=True)
async def test_a_crash_the_test_expects_is_captured() -> None:
    # Started outside any supervisor and not monitored: nobody watches it,
    # so its crash would fail the test, were it not captured.
    server = await Counter.start(0)
    assert server is not None
    with capture_crashes() as crashes:
        otp.cast(server, "unknown request")
        await wait_idle()
    assert not otp.is_alive(server)
    assert len(crashes) == 1 and "unknown request" in crashes[0].report
