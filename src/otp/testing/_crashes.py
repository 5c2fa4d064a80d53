"""`capture_crashes`: crashes a test expects, kept for it instead of failing it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .._runtime._crash_reports import CrashReport
from ._state import testing_state


@contextmanager
def capture_crashes() -> Iterator[list[CrashReport]]:
    """Collect the crash reports made while the block runs, instead of failing the test.

    >>> import logging, otp
    >>> from otp.testing import VirtualClock, capture_crashes, wait_idle
    >>> async def boom():
    ...     raise ValueError("no")
    >>> async def main():
    ...     with capture_crashes() as crashes:
    ...         otp.spawn(boom)
    ...         await wait_idle()
    ...     return [report.reason for report in crashes]
    >>> logging.disable(logging.ERROR)
    >>> VirtualClock().run(main)
    ['ValueError: no']
    >>> logging.disable(logging.NOTSET)

    In a test marked `@pytest.mark.otp`, a crash that no process watches
    (no monitor, no supervisor or other linked process trapping exits)
    fails the test; a crash reported while this block is open, by any
    process of the node, joins the yielded list instead, for the test to
    assert on. Each item has `.pid`, `.name`, `.behaviour`, `.reason`
    (short, as `"ValueError: no"`) and `.report` (the whole report, as
    logged, traceback included). Crashes are still logged on logger
    "otp". Blocks nest: the innermost open block gets the report.

    Raises:
        otp.NotInProcess: used outside a process of a running node.
    """
    state = testing_state("otp.testing.capture_crashes")
    captured: list[CrashReport] = []
    state.captures.append(captured)
    try:
        yield captured
    finally:
        state.captures.remove(captured)


__all__ = ["capture_crashes"]
