"""Supervisor: a process that starts, watches and restarts other processes.

Example::

    >>> import otp
    >>> class Counter(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state, state + 1)
    >>> async def main():
    ...     sup = await otp.Supervisor.start_link([(Counter, 0)], strategy="one_for_one")
    ...     [child] = await otp.Supervisor.which_children(sup)
    ...     return child.id is Counter, await otp.call(child.pid, "next")
    >>> otp.run(main)
    (True, 0)

Children start in list order; each must have started (its `init` returned)
before the next starts, so a child may rely on its elder siblings. If one
fails, the ones already started are stopped in reverse order and the
supervisor fails to start. On exit, children stop in reverse start order.

Strategies: `one_for_one` restarts only the child that exited;
`one_for_all` stops all the others and restarts every child;
`rest_for_one` restarts the child and every child started after it.

Restart intensity: more than `max_restarts` restarts within `max_seconds`
and the supervisor gives up: it stops all its children and exits with
reason `"shutdown"`, which its own supervisor sees as a child exit.

Restart backoff (beyond OTP, opt-in): `restart_delay=` on a child spec or
on the supervisor waits before restarting a child, a fixed number of
seconds or `otp.Supervisor.backoff(initial, maximum)` (doubling from
`initial` up to `maximum` for consecutive crashes; the count resets once a
child has stayed up for `max_seconds`). The child shows `pid=None` while
it waits. Each restart counts toward the intensity when it happens, so a
delay longer than `max_seconds / max_restarts` means a crash-looping child
is retried forever at that pace instead of taking the supervisor down:
choose the delay with that in mind. The default is OTP's immediate restart.

    >>> delay = otp.Supervisor.backoff(0.1, 1.0)
    >>> [delay(n) for n in (1, 2, 3, 4, 5)]
    [0.1, 0.2, 0.4, 0.8, 1.0]

Module style: subclass and return the children and flags from `init`;
trees nest, since a supervisor is a child like any other (its spec has
type `"supervisor"` and waits for it to stop: `shutdown=None`)::

    >>> class Workers(otp.Supervisor):
    ...     def init(self, arg):
    ...         return otp.SupervisorSpec([(Counter, arg)], strategy="rest_for_one")
    >>> async def main():
    ...     inner = otp.Supervisor.child_spec([(Counter, 1)], id="inner", max_restarts=1)
    ...     top = await otp.Supervisor.start_link([(Workers, 10), inner], name="top")
    ...     return [(c.id, c.type) for c in await otp.Supervisor.which_children("top")]
    >>> otp.run(main)  # doctest: +ELLIPSIS
    [(<class '...Workers'>, 'supervisor'), ('inner', 'supervisor')]

A stray `call` to a supervisor (anything but the functions here) crashes
it, as in OTP.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, overload

from .._errors import Exit, StartError
from .._runtime._ids import Pid
from .._runtime._messages import Exited
from .._runtime._process import is_normal_exit
from .._runtime._repr import show, shown
from .._runtime._scheduler import current_node, self_process
from .._runtime._timers import send_after
from ._callback_names import check_callback_names
from ._child import (
    Child,
    ChildSpec,
    RestartDelay,
    expected_shutdown,
    shutdown_child,
    start_child,
    to_spec,
)
from ._gen_server import GenServer, call
from ._results import Ignore, NoReply, Ok, Reply, Stop

if TYPE_CHECKING:
    from .._runtime._names import Dest
    from ._server_messages import From

logger = logging.getLogger("otp")

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
AutoShutdown = Literal["never", "any_significant", "all_significant"]
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
_START_OPTIONS = ("name", "timeout", "strategy", "max_restarts", "max_seconds", "auto_shutdown")
_AUTO = ("never", "any_significant", "all_significant")


@dataclass
class SupervisorSpec:
    """What a module-style supervisor's `init` returns."""

    children: Sequence[object]
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    auto_shutdown: AutoShutdown = "never"
    restart_delay: RestartDelay = None

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(
                f"strategy must be one of {_STRATEGIES}; got {show(self.strategy)}"
                + " (for simple_one_for_one, use otp.DynamicSupervisor)"
            )
        if not isinstance(self.max_restarts, int) or self.max_restarts < 0:
            raise ValueError(f"max_restarts must be an int >= 0; got {show(self.max_restarts)}")
        if not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0; got {show(self.max_seconds)}")
        if self.auto_shutdown not in _AUTO:
            raise ValueError(
                f"auto_shutdown must be one of {_AUTO}; got {show(self.auto_shutdown)}"
            )


@dataclass(eq=False)
class _Child:
    spec: ChildSpec
    pid: Pid | None = None
    attempts: int = 0  # consecutive restarts, for backoff
    started_at: float = 0.0
    waiting: object = None  # the token of a scheduled delayed restart


@dataclass(eq=False)
class _State:
    spec: SupervisorSpec
    children: list[_Child] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)

    def find(self, id_: object) -> _Child | None:
        for child in self.children:
            if child.spec.id == id_:
                return child
        return None

    def by_pid(self, pid: Pid) -> _Child | None:
        for child in self.children:
            if child.pid is pid:
                return child
        return None


class Supervisor:
    """Start children, restart them as their specs say, stop them in order.

    Use `otp.Supervisor.start_link(children, ...)` directly, or subclass
    it and define `init(self, arg) -> otp.SupervisorSpec` (module style).
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        check_callback_names(cls, "Supervisor")

    def init(self, arg: object) -> SupervisorSpec | Ignore:
        """Module style: return the children and flags, or `otp.Ignore()` not to start.

        >>> import otp
        >>> class Optional(otp.Supervisor):
        ...     def init(self, enabled):
        ...         return otp.SupervisorSpec([]) if enabled else otp.Ignore()
        >>> async def main():
        ...     return await Optional.start_link(False)
        >>> print(otp.run(main))
        None

        With `Ignore()`, `start_link` returns None and, as the child of
        another supervisor, the child is kept but not running (OTP's
        `ignore`), like a GenServer whose init ignores.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define init(self, arg) returning "
            f"otp.SupervisorSpec(children, strategy=...)"
        )

    # A children list never ignores, so that form returns a Pid; a module-style
    # supervisor's init may return Ignore(), so `MySup.start_link(arg)` may be None.
    @overload
    @classmethod
    async def start_link(
        cls,
        arg: Sequence[object],
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid: ...
    @overload
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid | None: ...
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Start a supervisor linked to the caller, once all its children started.

        `otp.Supervisor.start_link(children, strategy=...)` takes the
        children list; a subclass passes `arg` to its `init`.

        Returns:
            The pid, or None when a subclass's `init` returned `otp.Ignore()`.

        Raises:
            StartError: a child failed to start (`.reason` is
                `("shutdown", ("failed_to_start_child", id, reason))`).
            AlreadyStarted: the name is taken.
        """
        if cls is Supervisor:
            if not isinstance(arg, Sequence) or isinstance(arg, str | bytes):
                raise TypeError(
                    f"otp.Supervisor.start_link needs a list of children; got {show(arg)}. "
                    f"For module style, subclass otp.Supervisor and define init."
                )
            # A bad child raises here, in the caller, rather than as a failed start.
            spec: SupervisorSpec | None = SupervisorSpec(
                _child_specs(arg), strategy, max_restarts, max_seconds, auto_shutdown, restart_delay
            )
        else:
            spec = None
        return await _SupervisorServer.start_link((cls, arg, spec), name=name, timeout=timeout)

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A spec for this supervisor as a child of another (type supervisor, shutdown None).

        `opts` holds spec fields (`id=`, `restart=`, `shutdown=`, ...) and
        start options: `name=`, `timeout=`, and for the children-list form
        the flags `strategy=`, `max_restarts=`, `max_seconds=`, `auto_shutdown=`:
        `otp.Supervisor.child_spec([Worker], id="workers", strategy="one_for_all")`.
        (`restart_delay=` is the spec's: how long the parent waits to restart it.)
        """
        start_opts = {k: opts.pop(k) for k in _START_OPTIONS if k in opts}
        spec = ChildSpec(
            id=cls,
            start=lambda: cls.start_link(arg, **start_opts),  # type: ignore[call-overload]
            type="supervisor",
            shutdown=None,
        )
        return spec.replace(**opts) if opts else spec

    @staticmethod
    def backoff(initial: float, maximum: float, factor: float = 2.0) -> Callable[[int], float]:
        """An exponential restart delay: initial, initial*factor, ... capped at maximum.

        >>> import otp
        >>> delay = otp.Supervisor.backoff(0.1, 1.0)
        >>> [delay(n) for n in (1, 2, 3, 4, 5)]
        [0.1, 0.2, 0.4, 0.8, 1.0]
        """
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")

        def delay(attempt: int) -> float:
            return float(min(maximum, initial * factor ** max(0, attempt - 1)))

        return delay

    # -- client functions (OTP's supervisor module) -------------------------------

    @staticmethod
    async def which_children(sup: Dest) -> list[Child]:
        """`Child(id, pid, type, modules)` for each child, in start order."""
        result = await call(sup, ("$sup", "which_children"), None)
        assert isinstance(result, list)
        return result

    @staticmethod
    async def count_children(sup: Dest) -> dict[str, int]:
        """Counts: `specs`, `active`, `supervisors`, `workers`."""
        result = await call(sup, ("$sup", "count_children"), None)
        assert isinstance(result, dict)
        return result

    @staticmethod
    async def start_child(sup: Dest, child: object) -> Pid | None:
        """Add a child (spec, class or `(class, arg)`) at the end and start it.

        Returns the pid, or None when its init returned `Ignore()`.

        Raises:
            StartError: it failed to start, or its id is already present
                (reason `"already_present"` or `("already_started", pid)`).
        """
        return await _reply_or_raise(await call(sup, ("$sup", "start_child", to_spec(child)), None))

    @staticmethod
    async def terminate_child(sup: Dest, child_id: object) -> None:
        """Stop the child `child_id`; its spec stays (except for temporary children).

        Raises:
            KeyError: no child has that id.
        """
        await _reply_or_raise(await call(sup, ("$sup", "terminate_child", child_id), None))

    @staticmethod
    async def restart_child(sup: Dest, child_id: object) -> Pid | None:
        """Start again a child that was terminated with `terminate_child`.

        Raises:
            KeyError: no such child. StartError: it is running, or failed to start.
        """
        return await _reply_or_raise(await call(sup, ("$sup", "restart_child", child_id), None))

    @staticmethod
    async def delete_child(sup: Dest, child_id: object) -> None:
        """Remove the spec of a child that is not running.

        Raises:
            KeyError: no such child. StartError: it is running (`"running"`).
        """
        await _reply_or_raise(await call(sup, ("$sup", "delete_child", child_id), None))


async def _reply_or_raise(result: object) -> Pid | None:
    if isinstance(result, BaseException):
        raise result
    assert result is None or isinstance(result, Pid)
    return result


class _SupervisorServer(GenServer):
    """The GenServer that runs a supervisor (as in OTP, a supervisor is a gen_server)."""

    _otp_label = "Supervisor"

    _otp_shutdown = None  # at node shutdown, wait for the children's own shutdowns

    async def init(self, arg: object) -> object:
        assert type(arg) is tuple
        module: type[Supervisor] = arg[0]
        module_arg: object = arg[1]
        spec: object = arg[2]
        self_process().trap = True
        if spec is None:
            spec = module().init(module_arg)
            if inspect.isawaitable(spec):
                spec = await spec
        if type(spec) is Ignore:
            return spec  # start_link returns None, as for OTP's `ignore`
        if not isinstance(spec, SupervisorSpec):
            return Stop(("bad_return", spec))
        children = [_Child(c) for c in _child_specs(spec.children)]
        state = _State(spec, children)
        for i, child in enumerate(children):
            try:
                await _start(child, state)
            except StartError as exc:
                _report_start_failure(child, exc.reason)
                for started in reversed(children[:i]):
                    await _stop(started)
                return Stop(("shutdown", ("failed_to_start_child", child.spec.id, exc.reason)))
        state.children = [c for c in children if c.pid is not None or c.spec.restart != "temporary"]
        return Ok(state)

    async def handle_call(self, request: object, from_: From, state: object) -> object:
        assert isinstance(state, _State)
        if not (type(request) is tuple and request[:1] == ("$sup",)):
            # As in OTP, a stray call crashes the supervisor (and its children go too).
            raise TypeError(
                f"a supervisor only answers the otp.Supervisor functions "
                f"(which_children, start_child, ...); got call {show(request)}"
            )
        return Reply(await _admin(state, request[1:]), state)

    async def handle_info(self, msg: object, state: object) -> object:
        assert isinstance(state, _State)
        if type(msg) is Exited:
            child = state.by_pid(msg.pid)
            if child is None:
                return NoReply(state)  # not a child: a stale or foreign exit
            return await _child_exited(state, child, msg.reason)
        if type(msg) is tuple and len(msg) == 3 and msg[0] == "$restart":
            child = state.find(msg[1])
            if child is not None and child.waiting is msg[2]:  # not cancelled meanwhile
                child.waiting = None
                return await _restart(state, child)
            return NoReply(state)
        return NoReply(state)

    async def terminate(self, reason: object, state: object) -> None:
        if isinstance(state, _State):
            for child in reversed(state.children):
                await _stop(child)

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        state = status.get("state")
        if isinstance(state, _State):
            status = {**status, "state": [_row(c) for c in state.children]}
        return status


def _child_specs(children: Sequence[object]) -> list[ChildSpec]:
    """Normalise a children list: TypeError for a bad entry, ValueError for a duplicate id."""
    specs = [to_spec(c) for c in children]
    _check_unique_ids(specs)
    return specs


def _check_unique_ids(specs: list[ChildSpec]) -> None:
    seen: set[object] = set()
    unhashable: list[object] = []
    for spec in specs:
        id_ = spec.id
        try:
            duplicate = id_ in seen
            seen.add(id_)
        except TypeError:  # an unhashable id: compare by equality
            duplicate = id_ in unhashable
            unhashable.append(id_)
        if duplicate:
            raise ValueError(
                f"duplicate child id {show(id_)}: give each child its own id "
                f"(e.g. Worker.child_spec(arg, id='worker-2'))"
            )


def _row(child: _Child) -> Child:
    return Child(child.spec.id, child.pid, child.spec.type, child.spec.modules)


def _sup_label() -> str:
    proc = self_process()
    return str(proc) + (f" ({show(proc.name)})" if proc.name else "")


async def _start(child: _Child, state: _State, verb: str = "started") -> None:
    # A failed start counts as a start that crashed at once (for the backoff).
    child.started_at = current_node().loop.time()
    pid = await start_child(child.spec)
    child.pid = pid
    if pid is not None:
        logger.info("Supervisor %s %s child %r as %s", _sup_label(), verb, _id_label(child), pid)


async def _stop(child: _Child) -> None:
    if child.pid is None:
        child.waiting = None
        return
    pid, child.pid = child.pid, None
    reason = await shutdown_child(pid, child.spec.shutdown)
    if not expected_shutdown(reason, child.spec.shutdown):
        logger.warning(
            "Supervisor %s: child %r (%s) stopped with %r instead of shutting down cleanly",
            _sup_label(),
            _id_label(child),
            pid,
            shown(reason),
        )


def _id_label(child: _Child) -> object:
    id_ = child.spec.id
    return id_.__name__ if isinstance(id_, type) else shown(id_)


def _report_start_failure(child: _Child, reason: object) -> None:
    logger.error(
        "Supervisor %s failed to start child %r: %r", _sup_label(), _id_label(child), shown(reason)
    )


def _should_restart(child: _Child, reason: object) -> bool:
    restart = child.spec.restart
    if restart == "permanent":
        return True
    if restart == "transient":
        return not is_normal_exit(reason)
    return False


async def _child_exited(state: _State, child: _Child, reason: object) -> object:
    child.pid = None
    level = logging.INFO if is_normal_exit(reason) else logging.WARNING
    logger.log(
        level,
        "Supervisor %s: child %r terminated with %r",
        _sup_label(),
        _id_label(child),
        shown(reason),
    )
    if not _should_restart(child, reason):
        if child.spec.restart == "temporary":
            state.children.remove(child)
        if child.spec.significant and _auto_shutdown(state, child):
            logger.info(
                "Supervisor %s shuts down: significant child %r exited (auto_shutdown=%s)",
                _sup_label(),
                _id_label(child),
                state.spec.auto_shutdown,
            )
            return Stop("shutdown", state)
        return NoReply(state)
    return await _restart(state, child, crashed=True)


def _auto_shutdown(state: _State, child: _Child) -> bool:
    mode = state.spec.auto_shutdown
    if mode == "any_significant":
        return True
    if mode == "all_significant":
        # A significant child waiting out its restart_delay is still one to wait for.
        return not any(
            c.spec.significant and (c.pid is not None or c.waiting is not None)
            for c in state.children
        )
    return False


def _intensity_reached(state: _State) -> bool:
    now = current_node().loop.time()
    spec = state.spec
    state.restarts = [t for t in state.restarts if now - t < spec.max_seconds]
    state.restarts.append(now)
    return len(state.restarts) > spec.max_restarts


async def _restart(state: _State, child: _Child, crashed: bool = False) -> object:
    """Restart `child` (and its siblings, by strategy), or give up on intensity."""
    node = current_node()
    now = node.loop.time()
    delay_spec = child.spec.restart_delay
    if delay_spec is None:
        delay_spec = state.spec.restart_delay
    if crashed and delay_spec is not None:
        if now - child.started_at >= state.spec.max_seconds:
            child.attempts = 0
        child.attempts += 1
        delay = delay_spec(child.attempts) if callable(delay_spec) else float(delay_spec)
        if delay > 0:
            await _stop_siblings(state, child)
            child.waiting = token = node.make_ref()
            send_after(self_process(), ("$restart", child.spec.id, token), delay)
            logger.info(
                "Supervisor %s restarts child %r in %.3g s (restart %d)",
                _sup_label(),
                _id_label(child),
                delay,
                child.attempts,
            )
            return NoReply(state)
    if _intensity_reached(state):
        logger.error(
            "Supervisor %s reached its maximum restart intensity (%d restarts in %g s) "
            "and shuts down",
            _sup_label(),
            state.spec.max_restarts,
            state.spec.max_seconds,
        )
        return Stop("shutdown", state)
    if crashed or delay_spec is None:
        await _stop_siblings(state, child)
    for target in _restart_set(state, child):
        if target.pid is not None:
            continue
        try:
            await _start(target, state, "restarted")
        except StartError as exc:
            _report_start_failure(target, exc.reason)
            # OTP tries again (each try counts toward the intensity), after
            # the child's restart_delay when it has one.
            return await _restart(state, target, crashed=True)
    return NoReply(state)


def _restart_set(state: _State, child: _Child) -> list[_Child]:
    strategy = state.spec.strategy
    if strategy == "one_for_one" or child not in state.children:
        return [child]
    if strategy == "one_for_all":
        return list(state.children)
    return state.children[state.children.index(child) :]


async def _stop_siblings(state: _State, child: _Child) -> None:
    """Stop, in reverse order, the siblings the strategy restarts with `child`."""
    siblings = [c for c in _restart_set(state, child) if c is not child]
    for sibling in reversed(siblings):
        await _stop(sibling)
    for sibling in siblings:
        if sibling.spec.restart == "temporary":
            state.children.remove(sibling)


async def _admin(state: _State, request: tuple[object, ...]) -> object:
    op = request[0]
    if op == "which_children":
        return [_row(c) for c in state.children]
    if op == "count_children":
        active = [c for c in state.children if c.pid is not None]
        return {
            "specs": len(state.children),
            "active": len(active),
            "supervisors": sum(1 for c in state.children if c.spec.type == "supervisor"),
            "workers": sum(1 for c in state.children if c.spec.type == "worker"),
        }
    arg = request[1]
    if op == "start_child":
        assert isinstance(arg, ChildSpec)
        existing = state.find(arg.id)
        if existing is not None:
            if existing.pid is not None:
                return StartError(
                    ("already_started", existing.pid), f"child {show(arg.id)} is already running"
                )
            return StartError("already_present", f"a child with id {show(arg.id)} already exists")
        child = _Child(arg)
        try:
            await _start(child, state)
        except StartError as exc:
            return exc
        if child.pid is not None or arg.restart != "temporary":
            state.children.append(child)
        return child.pid
    found = state.find(arg)
    if found is None:
        return KeyError(f"the supervisor has no child with id {show(arg)}")
    return await _admin_child(state, found, op)


async def _admin_child(state: _State, child: _Child, op: object) -> object:
    id_ = child.spec.id
    if op == "terminate_child":
        await _stop(child)
        if child.spec.restart == "temporary":
            state.children.remove(child)
        return None
    if op == "restart_child":
        if child.pid is not None:
            return StartError("running", f"child {show(id_)} is running")
        child.waiting = None  # started now: its pending delayed restart is void
        try:
            await _start(child, state)
        except StartError as exc:
            return exc
        return child.pid
    if op == "delete_child":
        if child.pid is not None:
            return StartError("running", f"child {show(id_)} is running: terminate it first")
        state.children.remove(child)
        return None
    return Exit(("unknown_request", op))
