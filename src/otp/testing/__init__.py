"""Tools for testing code built on `otp`: virtual time and idleness.

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
