"""Tools for testing code built on `otp`: a pytest plugin, virtual time, assertions.

>>> import otp
>>> from otp.testing import VirtualClock
>>> clock = VirtualClock()
>>> async def main():
...     otp.send_after(otp.self(), "late", 60)
...     otp.send_after(otp.self(), "early", 1)
...     return [await otp.receive(), await otp.receive(), clock.time()]
>>> clock.run(main)
['early', 'late', 60.0]

Run a test's node on a `VirtualClock` and every timeout, timer and
`asyncio.sleep` completes as soon as the program has nothing else to do,
at an exact virtual time. `await wait_idle()` lets every process settle
without moving time.

The pytest plugin. Installing `otp` installs a pytest plugin (entry point
`otp`; `-p no:otp` turns it off) that changes nothing for a test that does
not use it. A test marked `@pytest.mark.otp` is an `async def` function
run as the first process of a fresh node (`clock=True`: on a fresh
VirtualClock; `timeout=` seconds on the node's clock, after which it
fails saying where it waited; any `otp.run` node option, such as
`node="a@127.0.0.1"`). Its fixtures: `otp_node`, the node, and
`virtual_clock`, the clock (asking for it implies `clock=True`):

>>> import pytest
>>> from otp.testing import assert_receive, start_supervised
>>> @pytest.mark.otp(clock=True)
... async def test_a_reminder_comes_after_a_minute(virtual_clock):
...     otp.send_after(otp.self(), "stand up", 60)
...     assert await assert_receive("stand up", timeout=61) == "stand up"
...     assert virtual_clock.time() == 60.0

(pytest runs such a test; a plain call does not.)

In such a test, `await start_supervised(child)` starts a child under a
test supervisor linked to the test process (ExUnit's
`start_supervised!`) and stops it when the test function ends, children
in reverse start order; `await assert_receive(match)` and
`refute_receive(match)` check the test's mailbox (ExUnit's
`assert_receive` and `refute_receive`).

Crashes fail tests. A test fails when its function raises; when its
process is killed by an exit signal (a process linked to it crashed, as
in ExUnit); and when a process crashed during the test while no process
watched it. A crash is watched when some process will hear of it: a
monitor on the crashed process (`otp.monitor`, `spawn_monitor`, a call
waiting on it), or a link to a process that traps exits (every
supervisor: a supervised child crashing is a restart, not a failure).
The failure shows each unwatched crash report, reason and traceback.
A test that expects a crash watches the process (monitor it and
`assert_receive(otp.Down)`, or trap exits and `assert_receive(otp.Exited)`),
or opens `with capture_crashes() as crashes:`, which collects the
reports instead, for the test to assert on.
"""

from ._clock import VirtualClock as VirtualClock
from ._crashes import capture_crashes as capture_crashes
from ._idle import wait_idle as wait_idle
from ._receive import assert_receive as assert_receive
from ._receive import refute_receive as refute_receive
from ._supervised import start_supervised as start_supervised
from ._supervised import stop_supervised as stop_supervised

__all__ = [
    "VirtualClock",
    "assert_receive",
    "capture_crashes",
    "refute_receive",
    "start_supervised",
    "stop_supervised",
    "wait_idle",
]
