"""Per-node state of `otp.testing`: the test supervisor and the crash watch.

The state is a node exit hook (`Node.exit_hook`), so it belongs to one
node and each test's fresh node gets a fresh one; nothing is kept at
module level.

How crashes are watched. Every crash report joins `node.crash_reports`;
once watching starts, that ring is replaced by `WatchedReports`, a ring
that also hands each new report to `TestingState.on_crash`, synchronously,
while the crashed process still holds its links and monitors (reports are
made before the process dies). A crash is *watched* when some process will
hear of it: a monitor on the crashed process, or a link to a process
that traps exits (every supervisor does). Only unwatched crashes are kept
in `unwatched`, which the pytest plugin turns into a test failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Self

from .._behaviours._gen_server_client import stop
from .._behaviours._supervisor import Supervisor
from .._runtime._crash_reports import CRASH_REPORTS, CrashReport
from .._runtime._ids import Pid
from .._runtime._node import Node
from .._runtime._process import Process
from .._runtime._scheduler import current_node, current_process


class TestingState:
    """What `otp.testing` keeps for one node (registered as its exit hook)."""

    __test__ = False  # not a test class, whatever pytest's name patterns say

    def __init__(self) -> None:
        #: The supervisor of `start_supervised`, started on first use.
        self.supervisor: Pid | None = None
        #: Crashes that no process watched, oldest first.
        self.unwatched: list[CrashReport] = []
        #: The lists of the open `capture_crashes()` blocks, innermost last.
        self.captures: list[list[CrashReport]] = []
        self.watching = False

    def __call__(self, proc: Process, /) -> None:
        if proc is self.supervisor:
            self.supervisor = None

    def watch(self, node: Node) -> None:
        """Start watching `node`'s crash reports (once; later calls do nothing)."""
        if not self.watching:
            self.watching = True
            node.crash_reports = WatchedReports(node.crash_reports, self)

    def on_crash(self, report: CrashReport) -> None:
        if self.captures:
            self.captures[-1].append(report)
        elif not is_watched(report.pid):
            self.unwatched.append(report)

    async def test_supervisor(self) -> Pid:
        """The supervisor of `start_supervised`, started (linked to the caller) if needed."""
        sup = self.supervisor
        if sup is None:
            sup = await Supervisor.start_link([])
            assert sup is not None
            self.supervisor = sup
        return sup

    async def stop_supervised_all(self) -> None:
        """Stop the test supervisor: its children stop in reverse start order."""
        sup = self.supervisor
        if not isinstance(sup, Process) or not sup.alive:
            return
        self.supervisor = None
        me = current_process.get()
        if me is not None and sup.links is not None and me in sup.links:
            # Unlinked first: a test that traps exits gets no Exited for it.
            me.rt.route_unlink(me, sup)
        await stop(sup)


def is_watched(pid: Pid) -> bool:
    """True when some process will hear of `pid`'s death: a monitor, or a trapping link."""
    if not isinstance(pid, Process):
        return True  # not a local process: not ours to judge
    if pid.watchers:
        return True
    for other in pid.links or ():
        if not isinstance(other, Process) or (other.alive and other.trap):
            return True
    return False


def testing_state(what: str) -> TestingState:
    """The `TestingState` of the current node (`what` names the caller in errors)."""
    node = current_node(what)
    state = node.exit_hook(TestingState)
    state.watch(node)
    return state


class WatchedReports(deque[CrashReport]):
    """`node.crash_reports` that also tells the testing state of each new report."""

    def __init__(self, reports: Iterable[CrashReport], state: TestingState) -> None:
        super().__init__(reports, maxlen=CRASH_REPORTS)
        self.state = state

    def append(self, report: CrashReport, /) -> None:
        super().append(report)
        self.state.on_crash(report)

    def copy(self) -> Self:
        """A copy that tells the same state (deque's own would not pass it on)."""
        return type(self)(self, self.state)

    __copy__ = copy


__all__ = ["TestingState", "WatchedReports", "is_watched", "testing_state"]
