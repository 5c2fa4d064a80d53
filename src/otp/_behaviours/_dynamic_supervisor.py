"""DynamicSupervisor: a supervisor that starts its children on demand.

Example::

    >>> import otp
    >>> class Session(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state, state)
    >>> async def main():
    ...     sup = await otp.DynamicSupervisor.start_link(name="sessions")
    ...     pid = await otp.DynamicSupervisor.start_child("sessions", Session.child_spec("alice"))
    ...     counts = await otp.DynamicSupervisor.count_children(sup)
    ...     return await otp.call(pid, "who"), counts["active"]
    >>> otp.run(main)
    ('alice', 1)

Children have no ids: they are known by pid. The restart types and the
restart intensity are those of `otp.Supervisor` (strategy `one_for_one`
only); past the intensity the supervisor stops every child and exits
with `"shutdown"`. `max_children` caps the number of children
(`otp.MaxChildren` past it); `extra_arguments` are passed first,
positionally, to every child spec's `start`. On exit, every child gets
its shutdown signal at once and is waited for, as in Elixir.

`restart_delay=` on a child spec delays its restarts as in
`otp.Supervisor`; while it waits, the child shows `pid=None` in
`which_children` and still counts toward `max_children`.

Module style: subclass and return the options from `init`, a dict of
`start_link`'s keyword options (Elixir's `DynamicSupervisor.init(opts)`
keyword list), or `otp.Ignore()` not to start; `start_link(arg, name=...)`
passes `arg` to `init`, which runs in the new supervisor::

    >>> class Sessions(otp.DynamicSupervisor):
    ...     def init(self, limit):
    ...         return {"max_children": limit, "max_restarts": 10}
    >>> async def main():
    ...     sup = await Sessions.start_link(1, name="sessions")
    ...     await otp.DynamicSupervisor.start_child(sup, Session.child_spec("alice"))
    ...     try:
    ...         await otp.DynamicSupervisor.start_child(sup, Session.child_spec("bob"))
    ...     except otp.MaxChildren:
    ...         return "full"
    >>> otp.run(main)
    'full'
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

from .._errors import MaxChildren, StartError
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
    exit_reason,
    expected_shutdown,
    shutdown_child,
    signal_shutdown,
    start_child,
    start_eagerly,
    to_spec,
)
from ._eager import eager
from ._gen_server import GenServer, call, stop
from ._intensity import RestartIntensity
from ._results import MISSING, Ignore, NoReply, Ok, Reply, Stop
from ._server_telemetry import supervisor_restart, supervisor_shutdown
from ._supervisor_calls import NOT_FOUND, OK, erlang_children, erlang_counts, erlang_op

if TYPE_CHECKING:
    from .._runtime._names import Dest
    from ._server_messages import From

logger = logging.getLogger("otp")


@dataclass(eq=False)
class _Entry:
    """A child: its spec, and its restart history for `restart_delay`."""

    spec: ChildSpec
    started_at: float
    attempts: int = 0  # consecutive restarts, for backoff


@dataclass(eq=False)
class _State:
    max_restarts: int
    max_seconds: float
    max_children: int | None
    extra_arguments: tuple[object, ...]
    children: dict[Pid, _Entry] = field(default_factory=dict)
    #: Children waiting out their `restart_delay`, by the token of their timer.
    pending: dict[object, _Entry] = field(default_factory=dict)
    intensity: RestartIntensity = field(init=False)

    def __post_init__(self) -> None:
        self.intensity = RestartIntensity(self.max_restarts, self.max_seconds)

    def size(self) -> int:
        return len(self.children) + len(self.pending)


class DynamicSupervisor:
    """Start children on demand; restart them as their specs say.

    Use `otp.DynamicSupervisor.start_link(name=..., ...)` directly, or
    subclass it and define `init(self, arg)` returning the options (module
    style).
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        check_callback_names(cls, "DynamicSupervisor")

    def init(self, arg: Any, /) -> Mapping[str, object] | Ignore:
        """Module style: return the options as a dict, or `otp.Ignore()` not to start.

        The keys are `start_link`'s options: `strategy`, `max_restarts`,
        `max_seconds`, `max_children`, `extra_arguments` (each optional;
        `{}` takes every default). With `Ignore()`, `start_link` returns
        None and, under a supervisor, the child is kept but not running.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define init(self, arg) returning its options, "
            f"e.g. {{'max_children': 100}}, or otp.Ignore()"
        )

    # The options form never ignores, so it returns a Pid; a module-style
    # supervisor's init may return Ignore(), so `MyDyn.start_link(arg)` may be None.
    @overload
    @classmethod
    async def start_link(
        cls,
        *,
        name: object = None,
        strategy: Literal["one_for_one"] = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        extra_arguments: Sequence[object] = (),
        timeout: float | None = None,
    ) -> Pid: ...
    @overload
    @classmethod
    async def start_link(
        cls, arg: object, *, name: object = None, timeout: float | None = None
    ) -> Pid | None: ...
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        strategy: Literal["one_for_one"] = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        extra_arguments: Sequence[object] = (),
        timeout: float | None = None,
    ) -> Pid | None:
        """Start a dynamic supervisor linked to the caller, with no children.

        `otp.DynamicSupervisor.start_link(name=..., max_children=...)`
        takes the options; a subclass passes `arg` to its `init`, which
        returns them.

        Returns:
            The pid, or None when a subclass's `init` returned `otp.Ignore()`.

        Raises:
            ValueError: an option is out of range (for a subclass, its
                start fails with StartError instead).
            TypeError: options given to a subclass's start_link, or an
                `arg` given to otp.DynamicSupervisor itself.
        """
        options = (strategy, max_restarts, max_seconds, max_children, tuple(extra_arguments))
        if cls is DynamicSupervisor:
            if arg is not None:
                raise TypeError(
                    f"otp.DynamicSupervisor.start_link takes keyword options only "
                    f"(name=, max_children=, ...); got the argument {show(arg)}. For module "
                    f"style, subclass otp.DynamicSupervisor and define init(self, arg)."
                )
            start: object = _state(*options)  # a bad option raises here, in the caller
        else:
            if options != _DEFAULTS:
                raise TypeError(
                    f"{cls.__name__} takes its options from its init; pass start_link only "
                    f"arg, name= and timeout="
                )
            start = (cls, arg)
        return await _DynamicServer.start_link(start, name=name, timeout=timeout)

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A spec for a DynamicSupervisor under another supervisor.

        For otp.DynamicSupervisor itself, `arg` is a dict of `start_link`
        options (`{"name": "dyn", "max_children": 10}`); a subclass's
        `arg` goes to its `init`. `opts` holds spec fields (`id=`,
        `restart=`, ...) and the start options `name=` and `timeout=`.
        """
        start_opts = {k: opts.pop(k) for k in ("name", "timeout") if k in opts}
        start: Callable[[], Awaitable[Pid | None]]
        if cls is DynamicSupervisor:
            kwargs = dict(arg) if isinstance(arg, dict) else {}
            kwargs.update(start_opts)
            start = lambda: cls.start_link(**kwargs)  # noqa: E731
        else:
            start = lambda: cls.start_link(arg, **start_opts)  # type: ignore[call-overload]  # noqa: E731
        spec = ChildSpec(id=cls, start=start, type="supervisor", shutdown=None)
        return spec.replace(**opts) if opts else spec

    @staticmethod
    async def start_child(sup: Dest, child: object) -> Pid | None:
        """Start a child from a spec (or a class, or `(class, arg)`); return its pid.

        Returns None when the child's init returned `Ignore()`.

        Raises:
            MaxChildren: the supervisor already has `max_children` children.
            StartError: the child failed to start.
        """
        result = await call(sup, ("$dynsup", "start_child", to_spec(child)), None)
        if isinstance(result, BaseException):
            raise result
        assert result is None or isinstance(result, Pid)
        return result

    @staticmethod
    async def terminate_child(sup: Dest, pid: Pid) -> None:
        """Stop the child `pid` (it is not restarted).

        Raises:
            KeyError: `pid` is not a child of this supervisor.
        """
        result = await call(sup, ("$dynsup", "terminate_child", pid), None)
        if isinstance(result, BaseException):
            raise result

    @staticmethod
    async def which_children(sup: Dest) -> list[Child]:
        """`Child(None, pid, type, modules)` for every child.

        `pid` is None for a child waiting out its `restart_delay`.
        """
        result = await call(sup, ("$dynsup", "which_children", None), None)
        assert isinstance(result, list)
        return result

    @staticmethod
    async def count_children(sup: Dest) -> dict[str, int]:
        """Counts: `specs`, `active`, `supervisors`, `workers`."""
        result = await call(sup, ("$dynsup", "count_children", None), None)
        assert isinstance(result, dict)
        return result

    @staticmethod
    async def stop(sup: Dest, reason: object = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor with `reason`: its children first, then itself (`otp.stop`).

        >>> import otp
        >>> async def main():
        ...     sup = await otp.DynamicSupervisor.start_link()
        ...     await otp.DynamicSupervisor.stop(sup)
        ...     return otp.is_alive(sup)
        >>> otp.run(main)
        False

        Elixir's `DynamicSupervisor.stop/3`. Waits at most `timeout` seconds (None:
        forever) for the exit; if the caller is cancelled, it still stops.

        Raises:
            NoProc: the supervisor is not alive.
            CallTimeout: it did not exit within `timeout` seconds.
        """
        await stop(sup, reason, timeout)


_OPTIONS = ("strategy", "max_restarts", "max_seconds", "max_children", "extra_arguments")
_DEFAULTS: tuple[object, ...] = ("one_for_one", 3, 5.0, None, ())


def _state(
    strategy: object,
    max_restarts: object,
    max_seconds: object,
    max_children: object,
    extra_arguments: object,
) -> _State:
    """Check the options (ValueError saying what is accepted) and make the state."""
    if strategy != "one_for_one":
        raise ValueError(
            f"DynamicSupervisor supports strategy 'one_for_one' only; got {show(strategy)}"
        )
    if not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(f"max_restarts must be an int >= 0; got {show(max_restarts)}")
    if not isinstance(max_seconds, int | float) or not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0; got {show(max_seconds)}")
    if max_children is not None and (not isinstance(max_children, int) or max_children < 0):
        raise ValueError(f"max_children must be an int >= 0 or None; got {show(max_children)}")
    if not isinstance(extra_arguments, Sequence) or isinstance(extra_arguments, str):
        raise ValueError(f"extra_arguments must be a list or tuple; got {show(extra_arguments)}")
    return _State(max_restarts, max_seconds, max_children, tuple(extra_arguments))


def _state_from_init(cls: type[DynamicSupervisor], options: object) -> _State:
    """The state a module-style supervisor's init asked for."""
    if not isinstance(options, Mapping):
        raise TypeError(
            f"{cls.__name__}.init must return its options as a dict (e.g. "
            f"{{'max_children': 100}}) or otp.Ignore(); got {show(options)}"
        )
    unknown = [key for key in options if key not in _OPTIONS]
    if unknown:
        raise TypeError(
            f"{cls.__name__}.init returned unknown options {show(unknown)}; the options are "
            f"{', '.join(_OPTIONS)}"
        )
    given = dict(zip(_OPTIONS, _DEFAULTS, strict=True)) | dict(options)
    return _state(*given.values())


#: How another node's call in its own shape starts a child, by the call's first
#: element (an atom): `start = FOREIGN_STARTS[tag]`, `await start(request,
#: start_child)` is the reply, where `start_child(spec)` starts a child as
#: `DynamicSupervisor.start_child` does and returns its pid, None or the
#: exception. The distribution layer registers Elixir's `{start_task, ...}`
#: (`Task.Supervisor`'s request) here; the runtime never does.
FOREIGN_STARTS: dict[
    str,
    Callable[[tuple[object, ...], Callable[[ChildSpec], Awaitable[object]]], Awaitable[object]],
] = {}


class _DynamicServer(GenServer):
    _otp_label = "DynamicSupervisor"
    _otp_shutdown = None  # at node shutdown, wait for the children's own shutdowns

    async def init(self, arg: object) -> object:
        self_process().trap = True
        if isinstance(arg, _State):
            return Ok(arg)
        assert type(arg) is tuple
        module: type[DynamicSupervisor] = arg[0]
        options = module().init(arg[1])
        if inspect.isawaitable(options):
            options = await options
        if type(options) is Ignore:
            return options  # start_link returns None, as for Elixir's `:ignore`
        return Ok(_state_from_init(module, options))

    # The callbacks are plain functions that run the work eagerly (see
    # `_eager`): a restart that never suspends costs no Task.

    def handle_call(self, request: object, from_: From, state: object) -> Any:
        assert isinstance(state, _State)
        if type(request) is tuple and request and request[0] in FOREIGN_STARTS:
            start = FOREIGN_STARTS[request[0]]
            return eager(_reply(state, start(request, partial(_start_new, state))))
        erlang = erlang_op(request)
        if erlang is not None:
            return _erlang_call(state, *erlang)
        if not (type(request) is tuple and len(request) == 3 and request[0] == "$dynsup"):
            # As in OTP, a stray call crashes the supervisor (and its children go too).
            raise TypeError(
                f"a DynamicSupervisor only answers the otp.DynamicSupervisor functions "
                f"(start_child, which_children, ...); got call {show(request)}"
            )
        _, op, arg = request
        if op == "start_child":
            assert isinstance(arg, ChildSpec)
            return eager(_reply(state, _start_new(state, arg)))
        if op == "terminate_child":
            entry = state.children.pop(arg, None) if isinstance(arg, Pid) else None
            if entry is None:
                return Reply(KeyError(f"{show(arg)} is not a child of this supervisor"), state)
            assert isinstance(arg, Pid)
            return eager(_reply(state, shutdown_child(arg, entry.spec.shutdown), None))
        if op == "which_children":
            rows = [_row(pid, e) for pid, e in state.children.items()]
            return Reply(rows + [_row(None, e) for e in state.pending.values()], state)
        if op == "count_children":
            return Reply(_counts(state), state)
        return Reply(ValueError(f"unknown DynamicSupervisor request {show(op)}"), state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, _State)
        if type(msg) is tuple and len(msg) == 2 and msg[0] == "$restart":
            entry = state.pending.pop(msg[1], None)
            return NoReply(state) if entry is None else eager(_restart(state, entry))
        if type(msg) is not Exited or msg.pid not in state.children:
            return NoReply(state)  # not a child: a stale or foreign exit
        entry = state.children.pop(msg.pid)
        spec, reason = entry.spec, msg.reason
        if not is_normal_exit(reason):
            logger.error(
                "DynamicSupervisor %s: child %s terminated with %r",
                self_process(),
                msg.pid,
                shown(reason),
            )
        if spec.restart == "temporary" or (spec.restart == "transient" and is_normal_exit(reason)):
            return NoReply(state)
        supervisor_restart(self_process(), spec.id, msg.pid, reason)
        return eager(_after_crash(state, entry))

    def terminate(self, reason: object, state: object) -> object:
        if not isinstance(state, _State):
            return None
        state.pending.clear()  # their timers' messages will find nothing
        if not state.children:
            return None
        return eager(_stop_all(state))


def _erlang_call(state: _State, op: str, arg: object) -> object:
    """An OTP supervisor call from another node, answered in OTP's shapes."""
    if op == "which_children":
        rows = [_row(pid, e) for pid, e in state.children.items()]
        return Reply(erlang_children(rows + [_row(None, e) for e in state.pending.values()]), state)
    if op == "count_children":
        return Reply(erlang_counts(_counts(state)), state)
    entry = state.children.pop(arg, None) if isinstance(arg, Pid) else None
    if entry is None:
        return Reply(NOT_FOUND, state)
    assert isinstance(arg, Pid)
    return eager(_reply(state, shutdown_child(arg, entry.spec.shutdown), OK))


async def _reply(state: _State, work: Awaitable[object], value: object = MISSING) -> Reply:
    """Reply with what `work` returns (or with `value`, once it is done)."""
    result = await work
    return Reply(result if value is MISSING else value, state)


async def _stop_all(state: _State) -> None:
    """Signal every child at once, then wait for those that trap exits."""
    children, state.children = state.children, {}
    # Every child gets its signal before any is waited for (Elixir's
    # order); only those still alive after it (they trap exits) leave
    # anything to wait for.
    waiting = {pid: signal_shutdown(pid, e.spec.shutdown) for pid, e in children.items()}
    late = [fut for fut in waiting.values() if fut is not None]
    if late:
        await asyncio.gather(*late)
    for pid, entry in children.items():
        fut = waiting[pid]
        outcome = exit_reason(pid) if fut is None else fut.result()
        if not expected_shutdown(outcome, entry.spec.shutdown):
            logger.warning(
                "DynamicSupervisor %s: child %s stopped with %r",
                self_process(),
                pid,
                shown(outcome),
            )


def _row(pid: Pid | None, entry: _Entry) -> Child:
    return Child(None, pid, entry.spec.type, entry.spec.modules)


def _counts(state: _State) -> dict[str, int]:
    entries = [*state.children.values(), *state.pending.values()]
    sups = sum(1 for e in entries if e.spec.type == "supervisor")
    return {
        "specs": len(entries),
        "active": len(state.children),
        "supervisors": sups,
        "workers": len(entries) - sups,
    }


async def _start_new(state: _State, spec: ChildSpec) -> object:
    """`start_child`: the pid, None for Ignore, or the error to raise in the caller."""
    if state.max_children is not None and state.size() >= state.max_children:
        return MaxChildren(
            f"the supervisor already has {state.max_children} children (max_children); "
            f"terminate one first or raise max_children"
        )
    now = current_node().loop.time()
    try:
        pid = await start_child(spec, *state.extra_arguments)
    except StartError as exc:
        return exc
    if pid is not None:
        state.children[pid] = _Entry(spec, now)
    return pid


async def _after_crash(state: _State, entry: _Entry) -> object:
    """Restart a child now, or after its `restart_delay` (see `otp.Supervisor`)."""
    delay_spec = entry.spec.restart_delay
    if delay_spec is None:
        return await _restart(state, entry)
    now = current_node().loop.time()
    if now - entry.started_at >= state.max_seconds:
        entry.attempts = 0  # it stayed up long enough: back to the first delay
    entry.attempts += 1
    delay = delay_spec(entry.attempts) if callable(delay_spec) else float(delay_spec)
    if delay <= 0:
        return await _restart(state, entry)
    token = current_node().make_ref()
    state.pending[token] = entry
    send_after(self_process(), ("$restart", token), delay)
    logger.info(
        "DynamicSupervisor %s restarts a child in %.3g s (restart %d)",
        self_process(),
        delay,
        entry.attempts,
    )
    return NoReply(state)


async def _restart(state: _State, entry: _Entry) -> object:
    """Start a child again, counting toward the intensity; give up past it."""
    now = current_node().loop.time()
    if state.intensity.exceeded(now):
        logger.error(
            "DynamicSupervisor %s reached its maximum restart intensity "
            "(%d restarts in %g s) and shuts down",
            self_process(),
            state.max_restarts,
            state.max_seconds,
        )
        supervisor_shutdown(self_process())
        return Stop("shutdown", state)
    entry.started_at = now
    try:
        pid = await start_child(entry.spec, *state.extra_arguments)
    except StartError as exc:
        logger.error(
            "DynamicSupervisor %s failed to restart a child: %r",
            self_process(),
            shown(exc.reason),
        )
        return await _after_crash(state, entry)  # each try counts toward the intensity
    if pid is not None:
        state.children[pid] = entry
        logger.info("DynamicSupervisor %s restarted a child as %s", self_process(), pid)
    return NoReply(state)


start_eagerly(DynamicSupervisor.start_link)
