"""Time, as the runtime reads it: always the event loop's clock.

Reading time only through the loop lets `otp.testing.VirtualClock` drive
every timer, receive timeout, call timeout and GenServer timeout in tests.
"""

from __future__ import annotations

import asyncio


def now(loop: asyncio.AbstractEventLoop) -> float:
    """The current time of `loop`, in seconds."""
    return loop.time()
