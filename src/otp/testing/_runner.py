"""Running one test function as the first process of a fresh node.

The pytest plugin (`_plugin.py`) builds a `TestSetup` from the test's
marker, then `run_test` runs the test on it and returns an `Outcome`; the
plugin turns that into a pass or a failure. Nothing here needs pytest.

A run goes: the node starts (on the setup's clock, if any); the test
function runs as its first process, with a timer that kills it after
`timeout` seconds (on the node's clock: virtual time on a VirtualClock);
when the function returns or raises, the test supervisor of
`start_supervised` is stopped (children in reverse start order); then the
node shuts every other process down, as `otp.run` does. Crashes that no
process watched, during all of it, are in `Outcome.crashes`.
"""

from __future__ import annotations

import asyncio
import linecache
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .._errors import Exit
from .._runtime._crash_reports import CrashReport
from .._runtime._node import Node
from .._runtime._process import Process, awaited_chain, run_body
from .._runtime._run import _main
from .._runtime._scheduler import self_process
from ._clock import VirtualClock
from ._state import TestingState, testing_state

TestFunction = Callable[..., Coroutine[Any, Any, object]]


@dataclass
class TestSetup:
    """The node a test runs in, its clock, and how long it may take."""

    __test__ = False

    node: Node
    clock: VirtualClock | None = None
    timeout: float | None = None


@dataclass
class Outcome:
    """How a test run ended."""

    #: What the test function raised (None: it returned).
    error: BaseException | None = None
    #: The exit reason of a test process killed by a signal, else None.
    killed: object = None
    #: Where the test process waited when its timeout ended it, else None.
    timed_out: str | None = None
    #: Crashes that no process watched, oldest first.
    crashes: list[CrashReport] = field(default_factory=list)


def run_test(setup: TestSetup, fn: TestFunction, kwargs: dict[str, object]) -> Outcome:
    """Run `fn(**kwargs)` as the first process of `setup.node`; say how it ended."""
    outcome = Outcome()
    finished: list[bool] = []

    async def test_process() -> None:
        state = testing_state("the otp test runner")
        timer = _start_timeout(setup, outcome)
        error: BaseException | None = None
        try:
            await fn(**kwargs)
        except asyncio.CancelledError:
            raise  # the process was killed: `_main` raises Exit with its reason
        except BaseException as exc:  # pytest.skip and pytest.fail raise BaseExceptions
            error = exc
        finally:
            if timer is not None:
                timer.cancel()
        finished.append(True)
        outcome.error = error
        await state.stop_supervised_all()

    factory = None if setup.clock is None else setup.clock.new_event_loop
    node = setup.node
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_main(test_process, (), node, True))
    except Exit as exc:
        if not finished:
            outcome.killed = exc.reason
    except Exception as exc:  # the shutdown of the test supervisor failed
        if outcome.error is None:
            outcome.error = exc
    outcome.crashes = list(node.exit_hook(TestingState, create=False).unwatched)
    return outcome


def _start_timeout(setup: TestSetup, outcome: Outcome) -> asyncio.TimerHandle | None:
    if setup.timeout is None:
        return None
    proc = self_process()
    timeout = setup.timeout
    virtual = setup.clock is not None

    def expire() -> None:
        if not proc.alive:
            return
        clock = " of virtual time" if virtual else ""
        outcome.timed_out = (
            f"the test did not finish within {timeout} s{clock} (the marker's timeout=); "
            f"the test process was waiting in:\n{where(proc)}"
        )
        proc.kill("killed")

    return proc.rt.loop.call_later(timeout, expire)


#: Frames `where` leaves out: the runner's own and the runtime's process body.
_SKIPPED_FILES = (__file__, _main.__code__.co_filename)
_SKIPPED_CODE = run_body.__code__


def where(proc: Process) -> str:
    """Where `proc` is suspended, outermost first: `file:line in function`, and the line."""
    lines = []
    for coro in awaited_chain(proc.task):
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            continue
        code = frame.f_code
        if code is _SKIPPED_CODE or code.co_filename in _SKIPPED_FILES:
            continue
        source = linecache.getline(code.co_filename, frame.f_lineno).strip()
        lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines) if lines else "  (nowhere that can be shown)"


__all__ = ["Outcome", "TestSetup", "run_test", "where"]
