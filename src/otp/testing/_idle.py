"""`wait_idle`: let every process settle before looking at the result."""

from __future__ import annotations

import asyncio

from ._clock import _VirtualLoop

#: Rounds of `asyncio.sleep(0)` on a loop whose ready queue cannot be seen.
_BLIND_ROUNDS = 100


async def wait_idle() -> None:
    """Return once every process is idle: nothing is ready to run on the loop.

    >>> import otp
    >>> from otp.testing import VirtualClock, wait_idle
    >>> async def relay(n):
    ...     if n:
    ...         otp.spawn(relay, n - 1)
    >>> async def main():
    ...     otp.spawn(relay, 10)
    ...     await wait_idle()
    ...     return len(otp.processes())
    >>> VirtualClock().run(main)
    1

    Time does not move: a process waiting on a timer or a receive timeout
    counts as idle, and its timer has not fired when this returns. On a
    `VirtualClock` loop the answer is exact (the loop reports the moment it
    runs out of ready callbacks). On any other asyncio loop it is a
    best-effort approximation: it yields until the loop's ready queue is
    empty, and work finishing in threads or on sockets may still be on its
    way. Cancelling the caller leaves nothing behind. Never waits forever on
    a virtual clock, since some step of the loop always finds it idle.
    """
    loop = asyncio.get_running_loop()
    if isinstance(loop, _VirtualLoop):
        await loop.otp_wait_idle()
        return
    ready = getattr(loop, "_ready", None)
    if ready is None:  # e.g. uvloop: the queue is hidden, so yield generously
        for _ in range(_BLIND_ROUNDS):
            await asyncio.sleep(0)
        return
    await asyncio.sleep(0)
    while ready:
        await asyncio.sleep(0)
