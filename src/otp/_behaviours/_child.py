"""Child specifications, and stopping a child the way OTP supervisors do."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Callable
from types import CodeType, CoroutineType
from typing import Any, Literal, NamedTuple, final

from .._errors import StartError
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import receive
from .._runtime._messages import Down, Exited
from .._runtime._process import Process, is_reason
from .._runtime._repr import show
from .._runtime._scheduler import self_process

logger = logging.getLogger("otp")

Restart = Literal["permanent", "transient", "temporary"]
Shutdown = float | Literal["brutal_kill"] | None
ChildType = Literal["worker", "supervisor"]
#: A fixed delay in seconds, or a function of the consecutive restart count (1, 2, ...).
RestartDelay = float | Callable[[int], float] | None

_RESTARTS = ("permanent", "transient", "temporary")
_TYPES = ("worker", "supervisor")


@final
class ChildSpec:
    """How a supervisor starts, restarts and stops one child.

    `start` is a zero-argument callable returning an awaitable pid (or
    None when the child's init returned `Ignore()`); `Counter.child_spec(arg)`
    builds one. `restart` is `"permanent"` (always restarted),
    `"transient"` (restarted after an abnormal exit) or `"temporary"`
    (never). `shutdown` is seconds to wait after exit signal `"shutdown"`
    before killing, `"brutal_kill"`, or None to wait forever (the default
    for supervisors). `restart_delay` (beyond OTP, opt-in) waits before
    each restart: seconds, or a function of the consecutive restart count
    such as `otp.Supervisor.backoff(0.1, 5.0)`.

    `start` runs in the supervisor, as in OTP, and a start that does not
    suspend (a GenServer whose `init` is a plain function) completes
    inside the supervisor's handling of the request or exit, with no Task
    of its own; one that suspends (an `async def init`) is finished in a
    Task while the supervisor waits. A start function of your own (not
    the library's `start_link`) always runs in a Task, so `asyncio.timeout()`
    and TaskGroups work in it as anywhere else.
    """

    __slots__ = (
        "id",
        "modules",
        "restart",
        "restart_delay",
        "shutdown",
        "significant",
        "start",
        "type",
    )

    def __init__(
        self,
        id: object,  # OTP's name
        start: Callable[..., object],
        restart: Restart = "permanent",
        shutdown: Shutdown | Literal["default"] = "default",
        type: ChildType = "worker",  # OTP's name
        significant: bool = False,
        *,
        restart_delay: RestartDelay = None,
        modules: list[object] | None = None,
    ) -> None:
        if not callable(start):
            raise TypeError(
                f"ChildSpec start must be a callable returning an awaitable pid "
                f"(e.g. lambda: Worker.start_link(arg)); got {show(start)}"
            )
        if restart not in _RESTARTS:
            raise ValueError(f"ChildSpec restart must be one of {_RESTARTS}; got {show(restart)}")
        if type not in _TYPES:
            raise ValueError(f"ChildSpec type must be one of {_TYPES}; got {show(type)}")
        if shutdown == "default":
            shutdown = None if type == "supervisor" else 5.0
        if not (
            shutdown is None
            or shutdown == "brutal_kill"
            or (isinstance(shutdown, int | float) and shutdown >= 0)
        ):
            raise ValueError(
                "ChildSpec shutdown must be seconds (>= 0), 'brutal_kill' or None; "
                f"got {show(shutdown)}"
            )
        if significant and restart == "permanent":
            raise ValueError(
                "a significant child must be 'transient' or 'temporary' (as in OTP); "
                f"child {show(id)} is 'permanent'"
            )
        self.id = id
        self.start = start
        self.restart: Restart = restart
        self.shutdown: Shutdown = shutdown
        self.type: ChildType = type
        self.significant = significant
        self.restart_delay = restart_delay
        self.modules = modules if modules is not None else [id]

    def replace(self, **changes: object) -> ChildSpec:
        """A copy with some fields changed: `spec.replace(restart="transient")`."""
        fields: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return ChildSpec(**fields)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        id_ = self.id.__name__ if isinstance(self.id, type) else repr(self.id)
        return (
            f"ChildSpec(id={id_}, restart={show(self.restart)}, shutdown={show(self.shutdown)}, "
            f"type={show(self.type)}, significant={show(self.significant)})"
        )


@final
class Child(NamedTuple):
    """A row of `which_children`: `pid` is None when the child is not running."""

    id: object
    pid: Pid | None
    type: str
    modules: list[object]


def to_spec(child: object) -> ChildSpec:
    """Normalise a children-list entry: a ChildSpec, a class, or `(class, arg)`."""
    if isinstance(child, ChildSpec):
        return child
    arg: object = None
    cls = child
    if type(child) is tuple and len(child) == 2 and isinstance(child[0], type):
        cls, arg = child
    make = getattr(cls, "child_spec", None) if isinstance(cls, type) else None
    if make is None:
        raise TypeError(
            f"a supervisor child must be a GenServer or Supervisor subclass, a (cls, arg) "
            f"tuple or an otp.ChildSpec; got {show(child)} ({type(child).__name__})"
        )
    spec = make(arg)
    if not isinstance(spec, ChildSpec):
        raise TypeError(
            f"{show(cls)}.child_spec({show(arg)}) must return an otp.ChildSpec; got {show(spec)}"
        )
    return spec


#: The code of the library's own start functions (`GenServer.start_link` and
#: the like), which may run in a supervisor's step without a Task: they bind
#: nothing to the current task before they first suspend.
EAGER_STARTS: set[CodeType] = set()


def start_eagerly(*functions: Any) -> None:
    """Mark the library's own start functions (methods or plain) as safe to step."""
    EAGER_STARTS.update(getattr(f, "__func__", f).__code__ for f in functions)


async def start_child(spec: ChildSpec, *args: object) -> Pid | None:
    """Run a spec's start function; return the pid (or None for Ignore)."""
    try:
        result = spec.start(*args)
        if type(result) is CoroutineType:
            result = await _run_start(result)
        elif inspect.isawaitable(result):
            result = await result
    except StartError:
        raise
    except Exception as exc:
        raise StartError(exc, f"child {show(spec.id)} failed to start: {show(exc)}") from exc
    if result is None or isinstance(result, Pid):
        return result
    raise StartError(
        ("bad_start_return", result),
        f"the start function of child {show(spec.id)} must return (an awaitable of) a pid or "
        f"None; got {show(result)}",
    )


def _run_start(coro: CoroutineType[Any, Any, object]) -> Any:
    """What to await for a start coroutine: itself, or a Task running it.

    A supervisor steps its own work without a Task (see `_eager.py`), so a
    start coroutine awaited there runs with the node's placeholder task as
    `asyncio.current_task()`. The library's start functions do not mind;
    a user's might (`async with asyncio.timeout(5): await connect()` binds
    the timeout to the current task), so it gets a Task of its own, started
    eagerly where asyncio can (3.12+): no loop turn unless it suspends.
    """
    if coro.cr_code in EAGER_STARTS:
        return coro
    proc = self_process()
    node = proc.rt
    if asyncio.current_task() is not node.callback_task:
        return coro  # already in a Task of the supervisor's: nothing to fix
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=node.loop, eager_start=True)
    return asyncio.ensure_future(coro)


async def shutdown_child(pid: Pid, shutdown: Shutdown) -> object:
    """Stop a child as OTP does: unlink, exit signal, wait, kill after the timeout.

    Must run in the supervisor process. Returns the child's exit reason.
    Does not suspend when the child dies inside its exit signal (a child
    that does not trap exits, or `brutal_kill`): see `signal_shutdown`.
    """
    waiting = signal_shutdown(pid, shutdown)
    if waiting is None:
        return exit_reason(pid)
    return await waiting


def signal_shutdown(pid: Pid, shutdown: Shutdown) -> asyncio.Future[object] | None:
    """Unlink a child and send it its shutdown exit signal; the future of its exit.

    Returns None when the child died inside the signal (read its reason
    with `exit_reason`): nothing to wait for, and no timer. Otherwise
    (it traps exits) a future of its exit reason; with a timeout, a timer
    kills the child if it is still alive `shutdown` seconds later.
    Must run in the supervisor process.
    """
    sup = self_process()
    if not isinstance(pid, Process):
        return _signal_remote(sup, pid, shutdown)
    sup.rt.route_unlink(sup, pid)
    _drop_exit_message(sup, pid)
    if shutdown == "brutal_kill":
        pid.exit_signal(sup, "kill", False)
    else:
        pid.exit_signal(sup, "shutdown", False)
    if not pid.alive:
        return None
    done = pid.wait_exit()
    if shutdown is not None and shutdown != "brutal_kill":
        timer = sup.rt.loop.call_later(shutdown, _kill_late, sup, pid, shutdown)
        done.add_done_callback(lambda _: timer.cancel())
    return done


def _signal_remote(sup: Process, pid: Pid, shutdown: Shutdown) -> asyncio.Future[object]:
    """`signal_shutdown` of a child on another node: its exit comes as a monitor's Down.

    A small local process holds the monitor (set up before the exit signal
    leaves, on the same connection, so the Down cannot be missed) and
    turns the Down into the future's result; a lost connection gives
    `"noconnection"`. The supervisor itself may wait on several children.
    """
    rt = sup.rt
    done: asyncio.Future[object] = rt.loop.create_future()
    ref = rt.make_ref()
    # Linked to the supervisor: not a root that a node shutting down stops
    # first, and gone with the supervisor. (Its own exit is not a child's.)
    watcher = rt.spawn(_watch_exit, (ref, done), link_to=sup)
    rt.route_monitor(watcher, pid, ref, pid)
    rt.route_unlink(sup, pid)
    _drop_exit_message(sup, pid)
    rt.route_exit(pid, sup, "kill" if shutdown == "brutal_kill" else "shutdown")
    if shutdown is not None and shutdown != "brutal_kill":
        timer = rt.loop.call_later(shutdown, _kill_late, sup, pid, shutdown)
        done.add_done_callback(lambda _: timer.cancel())
    return done


async def _watch_exit(ref: Ref, done: asyncio.Future[object]) -> None:
    down = await receive(match=lambda m: type(m) is Down and m.ref == ref)
    assert isinstance(down, Down)
    if not done.done():
        done.set_result(down.reason)


def exit_reason(pid: Pid) -> object:
    """The exit reason of a dead local process."""
    assert isinstance(pid, Process) and not pid.alive
    return pid.reason


def _kill_late(sup: Process, pid: Pid, shutdown: float) -> None:
    """The shutdown timeout of a child that traps exits: kill it, as OTP does."""
    if isinstance(pid, Process) and not pid.alive:
        return  # it died in this loop turn, before its future's callback ran
    logger.warning(
        "Child %s did not stop within %s s of exit signal 'shutdown'; killing it",
        pid,
        shutdown,
    )
    sup.rt.route_exit(pid, sup, "kill")


def _drop_exit_message(sup: Process, pid: Pid) -> None:
    """An exit signal that arrived before the unlink is not a crash to act on."""
    mb = sup.mailbox
    if not mb:
        return
    for i, msg in enumerate(mb):
        if type(msg) is Exited and msg.pid is pid:
            del mb[i]
            return


def expected_shutdown(reason: object, shutdown: Shutdown) -> bool:
    """Whether a child stopped the way its supervisor asked."""
    if shutdown == "brutal_kill":
        return is_reason(reason, "killed")
    return is_reason(reason, "shutdown") or is_reason(reason, "normal")
