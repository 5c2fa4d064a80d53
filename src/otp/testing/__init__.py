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
from ._idle import wait_idle as wait_idle

__all__ = ["VirtualClock", "wait_idle"]
