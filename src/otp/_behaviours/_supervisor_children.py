"""A supervisor's children: starting, stopping and restarting them by strategy."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .._errors import StartError
from .._runtime._ids import Pid
from .._runtime._process import is_normal_exit
from .._runtime._repr import show, shown
from .._runtime._scheduler import current_node, self_process
from .._runtime._timers import send_after
from ._child import Child, ChildSpec, expected_shutdown, shutdown_child, start_child
from ._intensity import RestartIntensity
from ._results import NoReply, Stop
from ._server_telemetry import supervisor_restart, supervisor_shutdown
from ._supervisor_spec import SupervisorSpec

logger = logging.getLogger("otp")


@dataclass(eq=False)
class Entry:
    """One child of a supervisor: its spec, its pid (None when not running), its restarts."""

    spec: ChildSpec
    pid: Pid | None = None
    attempts: int = 0  # consecutive restarts, for backoff
    started_at: float = 0.0
    waiting: object = None  # the token of a scheduled delayed restart


@dataclass(eq=False)
class SupervisorState:
    """A supervisor's state: its flags, its children in start order, its restart intensity."""

    spec: SupervisorSpec
    children: list[Entry] = field(default_factory=list)
    intensity: RestartIntensity = field(init=False)

    def __post_init__(self) -> None:
        self.intensity = RestartIntensity(self.spec.max_restarts, self.spec.max_seconds)

    def find(self, id_: object) -> Entry | None:
        for child in self.children:
            if child.spec.id == id_:
                return child
        return None

    def by_pid(self, pid: Pid) -> Entry | None:
        for child in self.children:
            if child.pid is pid:
                return child
        return None


def row(child: Entry) -> Child:
    return Child(child.spec.id, child.pid, child.spec.type, child.spec.modules)


def _sup_label() -> str:
    proc = self_process()
    return str(proc) + (f" ({show(proc.name)})" if proc.name else "")


async def start_entry(
    child: Entry, state: SupervisorState, verb: str = "started", now: float | None = None
) -> None:
    # A failed start counts as a start that crashed at once (for the backoff).
    child.started_at = current_node().loop.time() if now is None else now
    pid = await start_child(child.spec)
    child.pid = pid
    if pid is not None and logger.isEnabledFor(logging.INFO):
        logger.info("Supervisor %s %s child %r as %s", _sup_label(), verb, _id_label(child), pid)


async def stop_entry(child: Entry) -> None:
    if child.pid is None:
        child.waiting = None
        return
    pid, child.pid = child.pid, None
    reason = await shutdown_child(pid, child.spec.shutdown)
    if not expected_shutdown(reason, child.spec.shutdown) and logger.isEnabledFor(logging.WARNING):
        logger.warning(
            "Supervisor %s: child %r (%s) stopped with %r instead of shutting down cleanly",
            _sup_label(),
            _id_label(child),
            pid,
            shown(reason),
        )


def _id_label(child: Entry) -> object:
    id_ = child.spec.id
    return id_.__name__ if isinstance(id_, type) else shown(id_)


def report_start_failure(child: Entry, reason: object) -> None:
    if not logger.isEnabledFor(logging.ERROR):
        return
    logger.error(
        "Supervisor %s failed to start child %r: %r", _sup_label(), _id_label(child), shown(reason)
    )


def _should_restart(child: Entry, reason: object) -> bool:
    restart = child.spec.restart
    if restart == "permanent":
        return True
    if restart == "transient":
        return not is_normal_exit(reason)
    return False


async def child_exited(state: SupervisorState, child: Entry, reason: object) -> object:
    old_pid, child.pid = child.pid, None
    level = logging.INFO if is_normal_exit(reason) else logging.WARNING
    if logger.isEnabledFor(level):
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
    supervisor_restart(self_process(), child.spec.id, old_pid, reason)
    return await restart(state, child, crashed=True)


def _auto_shutdown(state: SupervisorState, child: Entry) -> bool:
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


async def restart(state: SupervisorState, child: Entry, crashed: bool = False) -> object:
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
    if state.intensity.exceeded(now):
        logger.error(
            "Supervisor %s reached its maximum restart intensity (%d restarts in %g s) "
            "and shuts down",
            _sup_label(),
            state.spec.max_restarts,
            state.spec.max_seconds,
        )
        supervisor_shutdown(self_process())
        return Stop("shutdown", state)
    # one_for_one restarts the child alone: no sibling to stop, nothing
    # awaited between `now` and its start.
    alone = state.spec.strategy == "one_for_one"
    if (crashed or delay_spec is None) and not alone:
        await _stop_siblings(state, child)
    for target in (child,) if alone else _restart_set(state, child):
        if target.pid is not None:
            continue
        try:
            await start_entry(target, state, "restarted", now if alone else None)
        except StartError as exc:
            report_start_failure(target, exc.reason)
            # OTP tries again (each try counts toward the intensity), after
            # the child's restart_delay when it has one.
            return await restart(state, target, crashed=True)
    return NoReply(state)


def _restart_set(state: SupervisorState, child: Entry) -> list[Entry]:
    strategy = state.spec.strategy
    if strategy == "one_for_one" or child not in state.children:
        return [child]
    if strategy == "one_for_all":
        return list(state.children)
    return state.children[state.children.index(child) :]


async def _stop_siblings(state: SupervisorState, child: Entry) -> None:
    """Stop, in reverse order, the siblings the strategy restarts with `child`."""
    siblings = [c for c in _restart_set(state, child) if c is not child]
    for sibling in reversed(siblings):
        await stop_entry(sibling)
    for sibling in siblings:
        if sibling.spec.restart == "temporary":
            state.children.remove(sibling)
