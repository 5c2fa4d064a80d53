"""`start_supervised` and `stop_supervised`: processes a test starts, stopped at its end.

ExUnit's `start_supervised!/2` and `stop_supervised/1`. Each node has one
test supervisor (`one_for_one`, OTP's default restart intensity), started
and linked to the caller on first use. The pytest plugin stops it when
the test function returns, so the children stop in reverse start order,
each as its child spec says (exit signal `"shutdown"`, `terminate` when
trapping exits, killed after its shutdown time). Outside the plugin the
supervisor stops with the node, in the same order.
"""

from __future__ import annotations

from .._behaviours._child import to_spec
from .._behaviours._supervisor import Supervisor
from .._errors import StartError
from .._runtime._ids import Pid
from .._runtime._repr import show
from ._state import testing_state


async def start_supervised(child: object) -> Pid:
    """Start `child` under the test's supervisor and return its pid.

    >>> import otp
    >>> from otp.testing import VirtualClock, start_supervised
    >>> class Stack(otp.GenServer):
    ...     def init(self, items): return items
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state[-1], state[:-1])
    >>> async def main():
    ...     pid = await start_supervised((Stack, [1, 2]))
    ...     return await otp.call(pid, "pop")
    >>> VirtualClock().run(main)
    2

    `child` is what a Supervisor children list takes: a GenServer (or
    Supervisor) class, a `(cls, arg)` tuple, or an `otp.ChildSpec`. Its
    id (the class, unless the spec says otherwise) must be unique among
    the children started so; `stop_supervised(id)` stops one early. In a
    test marked `@pytest.mark.otp`, every child is stopped when the test
    function returns or raises, in reverse start order, before the test's
    node shuts down; the children are the supervisor's, so a crash of one
    is a restart (as its spec says), not a failure of the test.

    Waits for the child's `init` (its own start timeout, if any). If the
    caller is cancelled, the start may still complete; the child is then
    stopped with the others.

    Raises:
        otp.StartError: the child failed to start (`.reason` says why:
            its init raised or returned `Stop`, `("already_started", pid)`
            for a taken id, or `"ignore"` when its init returned
            `otp.Ignore()`, as no process runs then).
        TypeError: `child` is not one of the accepted forms.
        otp.NotInProcess: called outside a process of a running node.
    """
    spec = to_spec(child)
    state = testing_state("otp.testing.start_supervised")
    sup = await state.test_supervisor()
    pid = await Supervisor.start_child(sup, spec)
    if pid is None:
        raise StartError(
            "ignore",
            f"start_supervised({show(child)}): its init returned otp.Ignore(), so no process "
            f"runs; to test that, call its start_link directly (it returns None)",
        )
    return pid


async def stop_supervised(child_id: object) -> None:
    """Stop the child started by `start_supervised` whose id is `child_id`, and forget it.

    >>> import otp
    >>> from otp.testing import VirtualClock, start_supervised, stop_supervised
    >>> class Idle(otp.GenServer):
    ...     def init(self, arg): return arg
    >>> async def main():
    ...     pid = await start_supervised(Idle)
    ...     await stop_supervised(Idle)
    ...     return otp.is_alive(pid)
    >>> VirtualClock().run(main)
    False

    The child stops as its spec says (exit signal `"shutdown"`, killed
    after its shutdown time), and is not restarted; the same id may then
    be started again. Waits until the child has stopped.

    Raises:
        KeyError: no child with that id was started by `start_supervised`
            (the id of `start_supervised(Counter)` is the class `Counter`).
    """
    state = testing_state("otp.testing.stop_supervised")
    sup = state.supervisor
    ids = [] if sup is None else [row.id for row in await Supervisor.which_children(sup)]
    if sup is None or child_id not in ids:
        raise KeyError(
            f"stop_supervised({show(child_id)}): no child with that id was started by "
            f"start_supervised; the running ones are {show(ids)} (the id of "
            f"start_supervised(Counter) is the class Counter, of a ChildSpec its id)"
        )
    await Supervisor.terminate_child(sup, child_id)
    if child_id in [row.id for row in await Supervisor.which_children(sup)]:
        await Supervisor.delete_child(sup, child_id)  # a temporary child is gone already


__all__ = ["start_supervised", "stop_supervised"]
