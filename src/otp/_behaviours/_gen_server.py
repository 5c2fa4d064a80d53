"""GenServer: a process that holds state and serialises access to it.

Example::

    >>> import otp
    >>> class Stack(otp.GenServer):
    ...     # client API
    ...     @classmethod
    ...     async def push(cls, server, item):
    ...         otp.cast(server, ("push", item))
    ...     @classmethod
    ...     async def pop(cls, server):
    ...         return await otp.call(server, "pop")
    ...     # server callbacks
    ...     def init(self, items):
    ...         return list(items)
    ...     def handle_call(self, request, from_, state):
    ...         head, *tail = state
    ...         return otp.Reply(head, tail)
    ...     def handle_cast(self, request, state):
    ...         _, item = request
    ...         return otp.NoReply([item, *state])
    >>> async def main():
    ...     pid = await Stack.start_link(["hello"])
    ...     await Stack.push(pid, "world")
    ...     return await Stack.pop(pid), await Stack.pop(pid)
    >>> otp.run(main)
    ('world', 'hello')

Client/server API: the client functions (`push`, `pop`) run in the caller and
talk to the server with `otp.call` (waits for a reply) and `otp.cast` (does
not); the callbacks run in the server, one message at a time, and thread the
state through their return values.

How to supervise: start servers with `start_link` under a supervisor
(`Stack.child_spec(arg)`), so a crash restarts them with a fresh state.

Name registration: `start_link(arg, name="stack")` registers a local name;
`otp.Via(registry, key)` registers through a registry.

Timeouts: `call` waits 5 seconds by default, then raises `otp.CallTimeout`.
`Reply(..., timeout=t)` / `NoReply(state, timeout=t)` deliver `"timeout"` to
`handle_info` when no message arrives within `t` seconds.

When not to use it: a GenServer serialises every request. Do not use one
only to organise code (use a module), and do not make one the single gate
to data that many processes read (use an `otp.Table`), nor run blocking
work in a callback (hand it to a Task; a callback that holds the event loop
longer than 100 ms is reported on logger "otp").

Debugging: `otp.sys.get_state(server)`, `otp.process_info(pid)`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, overload

import typing_extensions

from .._errors import AlreadyStarted, Exit, StartError
from .._runtime._ids import Pid
from .._runtime._messages import Global, Via
from .._runtime._names import global_names, via_registry
from .._runtime._node import Node
from .._runtime._process import Process, is_normal_exit
from .._runtime._repr import MESSAGE_LIMIT, show, shown
from .._runtime._scheduler import current_node, current_process, node_of
from .._runtime._steps import drive

# GenServer's messages from other nodes: registered with the runtime on import.
from . import _server_wire  # noqa: F401
from ._callback_names import check_callback_names
from ._gen_server_client import call, cast, reply, stop
from ._remote_start import node_names, start_elsewhere, start_on_first
from ._results import MISSING, Ignore, NoReply, Ok, Reply, Stop
from ._server_messages import Failure, From
from ._server_process import ServerProcess

if TYPE_CHECKING:
    from ._child import ChildSpec

logger = logging.getLogger("otp")
perf = time.perf_counter


#: The server's state type: `class Counter(otp.GenServer[int])`; plain `otp.GenServer` is
#: `otp.GenServer[Any]`.
S = typing_extensions.TypeVar("S", default=Any)
_S = TypeVar("_S")
A = TypeVar("A")
A_contra = TypeVar("A_contra", contravariant=True)

# What each callback may return, plain or from an `async def` (the state type is `_S`).
_Init: TypeAlias = "_S | Ok[_S] | Ignore | Stop[_S]"
_InitResult: TypeAlias = "_Init[_S] | Awaitable[_Init[_S]]"
_Call: TypeAlias = "Reply[_S] | NoReply[_S] | Stop[_S]"
_CallResult: TypeAlias = "_Call[_S] | Awaitable[_Call[_S]]"
_Cast: TypeAlias = "NoReply[_S] | Stop[_S]"
_CastResult: TypeAlias = "_Cast[_S] | Awaitable[_Cast[_S]]"


class _HasInit(Protocol[A_contra]):
    """A server class whose `init` takes an `A_contra`: `start_link` takes the same."""

    def init(self, arg: A_contra, /) -> object: ...


class GenServer(Generic[S]):
    """Base class of a generic server. Override the callbacks you need.

    Every callback may be a plain function or `async def` (`code_change` and
    `format_status`: plain only). Their parameters are positional-only here,
    so that an override may name them as it likes.
    """

    #: What reports and `process_info` call a server of this class (default:
    #: the class name); set by the library's own servers, e.g. "Supervisor".
    _otp_label: ClassVar[str | None] = None

    #: Set per subclass: True when `handle_call` is `async def`.
    _otp_async_call: ClassVar[bool] = False
    _otp_async_init: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._otp_async_call = inspect.iscoroutinefunction(cls.handle_call)
        cls._otp_async_init = inspect.iscoroutinefunction(cls.init)
        check_callback_names(cls, "GenServer")

    # -- starting ---------------------------------------------------------------

    # The argument's type is solved from the class's own `init`, so that
    # `Counter.start_link("x")` is a type error when `Counter.init` takes an int.
    @overload
    @classmethod
    async def start_link(
        cls: type[_HasInit[A]],
        arg: A,
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None: ...
    @overload
    @classmethod
    async def start_link(
        cls: type[_HasInit[None]],
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None: ...
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None:
        """Start a server linked to the caller; return its pid once `init` returned.

        `init(arg)` runs in the new process before this returns. `name` is
        a `str`, `otp.Via(registry, key)` or `otp.Global(name)`.

        Messages sent to the server while `init` runs wait in its mailbox.
        An `async def init` is awaited for at most `timeout` seconds (None:
        forever); past it the server is killed. If the caller is cancelled
        meanwhile, the half-started server is killed too. Return
        `Ok(state, continue_=arg)` to do slow set-up in `handle_continue`
        without holding up the caller.

        With `node="b@h"` (a Python node), the server starts on that node,
        which imports the class by its module and name, and is linked to
        the caller across the connection from its start, with the caller
        as its parent.

        Returns:
            The pid, or None when `init` returned `otp.Ignore()`.

        Raises:
            AlreadyStarted: the name is taken (`.pid` holds the owner).
            StartError: `init` raised, returned `otp.Stop(reason)`, or took
                longer than `timeout` seconds. The caller is not killed.
            NoConnection: `node` cannot be reached.
        """
        if node is not None and node != node_name():
            return await start_elsewhere(cls, arg, name, timeout, True, node)
        return await start_server(cls, arg, name, timeout, link=True)

    @overload
    @classmethod
    async def start(
        cls: type[_HasInit[A]],
        arg: A,
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None: ...
    @overload
    @classmethod
    async def start(
        cls: type[_HasInit[None]],
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None: ...
    @classmethod
    async def start(
        cls,
        arg: object = None,
        *,
        name: object = None,
        timeout: float | None = None,
        node: str | None = None,
    ) -> Pid | None:
        """Like `start_link`, without the link."""
        if node is not None and node != node_name():
            return await start_elsewhere(cls, arg, name, timeout, False, node)
        return await start_server(cls, arg, name, timeout, link=False)

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A supervisor child spec that starts this server with `start_link(arg)`.

        `opts` holds start options (`name=`, `timeout=`, `node=`) and spec
        fields (`id=`, `restart=`, `shutdown=`, `significant=`,
        `restart_delay=`); the id defaults to the class. Override it to
        change the defaults for every use of the class, as `use GenServer,
        restart: ...` does.

        `node=` is a node name, or a list of them: the child then starts on
        the first one that can be reached, so that a child whose node died
        is restarted on the next one (`node=["b@h", "c@h"]`).
        """
        from ._child import ChildSpec

        start_opts = {k: opts.pop(k) for k in ("name", "timeout", "node") if k in opts}
        nodes = start_opts.get("node")
        if isinstance(nodes, list | tuple):
            nodes = node_names(nodes, "child_spec(node=...)")
            name, timeout = start_opts.get("name"), start_opts.get("timeout")
            spec = ChildSpec(
                id=cls,
                start=lambda: start_on_first(cls, arg, nodes, name, timeout),  # type: ignore[arg-type]
            )
        else:
            spec = ChildSpec(id=cls, start=lambda: cls.start_link(arg, **start_opts))  # type: ignore[call-overload]
        return spec.replace(**opts) if opts else spec

    # -- callbacks -----------------------------------------------------------------

    def init(self, arg: Any, /) -> _InitResult[S]:
        """Return the initial state (or `Ok(...)`, `Ignore()`, `Stop(reason)`).

        The default makes `arg` the state.
        """
        return arg  # type: ignore[no-any-return]

    def handle_call(self, request: Any, from_: From, state: S, /) -> _CallResult[S]:
        """Answer a `call`: `Reply(reply, state)`, `NoReply(state)` or `Stop(...)`."""
        raise NotImplementedError(
            f"{type(self).__name__} received a call it does not handle: {show(request)}. "
            f"Define handle_call(self, request, from_, state) returning otp.Reply(reply, state)."
        )

    def handle_cast(self, request: Any, state: S, /) -> _CastResult[S]:
        """Handle a `cast`: `NoReply(state)` or `Stop(reason, state)`."""
        raise NotImplementedError(
            f"{type(self).__name__} received a cast it does not handle: {show(request)}. "
            f"Define handle_cast(self, request, state) returning otp.NoReply(state)."
        )

    def handle_info(self, msg: Any, state: S, /) -> _CastResult[S]:
        """Handle any other message. The default logs it and drops it."""
        proc = current_process.get()
        logger.warning(
            "%s %s received an unexpected message in handle_info: %r",
            type(self).__name__,
            proc._label() if proc is not None else "?",
            shown(msg, proc.rt.report_limit if proc is not None else MESSAGE_LIMIT),
        )
        return NoReply(state)

    def handle_continue(self, arg: Any, state: S, /) -> _CastResult[S]:
        """Run after a callback returned `continue_=arg`, before any other message."""
        raise NotImplementedError(
            f"{type(self).__name__} returned continue_={show(arg)} but does not define "
            f"handle_continue(self, arg, state)."
        )

    def terminate(self, reason: Any, state: S, /) -> object:
        """Clean up before the server exits. The return value is ignored.

        Runs on `otp.stop`, a returned `Stop`, a callback exception, and an
        exit signal from the parent while trapping exits; not when the
        server is killed by an exit signal it does not trap.
        """
        return None

    def code_change(self, old_vsn: Any, state: S, extra: Any, /) -> S:
        """Transform the state for a new version of the code (see `otp.sys`)."""
        return state

    def format_status(self, status: dict[str, object], /) -> dict[str, object]:
        """Shape what crash reports and `otp.sys.get_status` show.

        `status` has keys `"state"`, `"message"` and `"reason"`; return it
        with secrets removed or large values summarised.
        """
        return status


def node_name() -> str:
    return current_node("GenServer.start").name


async def start_server(
    cls: type[GenServer],
    arg: object,
    name: object,
    timeout: float | None,
    link: bool,
    remote_parent: Pid | None = None,
) -> Pid | None:
    """Start `cls(arg)`; linked to the caller, or with `remote_parent` to that pid elsewhere."""
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"start_link needs a GenServer subclass; got {show(cls)}")
    parent = current_process.get()
    node = node_of(parent, "start_link")
    proc = ServerProcess(node, cls())
    if isinstance(name, Global):
        await _claim_global(node, proc, name)
    else:
        _claim_name(node, proc, name)
    if link and parent is not None:
        proc.parent = parent
        proc.add_link(parent)
        parent.add_link(proc)
    elif remote_parent is not None:
        # start_link(node=...) from another node: the caller there is the parent,
        # linked before init runs, as gen_server:start_link links its parent.
        proc.parent = remote_parent
        node.route_link(proc, remote_parent)
    if cls._otp_async_init:
        result = await _await_init(proc, parent, arg, timeout)
    else:
        slow = node.slow_callback
        t0 = perf() if slow is not None else 0.0
        result = _sync_init(proc, arg)
        if slow is not None:
            t1 = perf()
            if t1 - t0 > slow:
                proc.report_nested_slow(("$init", arg), t0, t1)
    return _finish_start(proc, parent, result)


async def _await_init(
    proc: ServerProcess, parent: Process | None, arg: object, timeout: float | None
) -> object:
    """Run an `async def init` as the server's task; wait for it at most `timeout` s."""
    coro = _async_init(proc, arg)
    task = proc.rt.loop.create_task(drive(coro, proc, ("$init", arg)), context=proc.own_ctx())
    proc.task = task
    try:
        # `asyncio.wait` neither raises when the init task is cancelled (the
        # server was killed by a signal) nor cancels it on timeout.
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except asyncio.CancelledError:
        # The starter was cancelled: the half-started server goes with it.
        _abort_start(proc, parent, "killed")
        task.cancel()
        raise
    finally:
        proc.task = None
    if not done:
        _abort_start(proc, parent, "killed")
        task.cancel()
        raise StartError(
            "timeout", f"{type(proc.impl).__name__}.init did not return within {timeout} s"
        )
    return None if task.cancelled() else task.result()  # killed: _finish_start says so


async def _async_init(proc: ServerProcess, arg: object) -> object:
    try:
        return await proc.impl.init(arg)  # type: ignore[misc]
    except Exception as exc:
        return _init_failure(exc)


def _sync_init(proc: ServerProcess, arg: object) -> object:
    """Run a plain `init` in the server's context; keep that context only if init set any.

    Most servers' `init` sets no context variable: it then runs in a
    throw-away copy of the starter's context, which is dropped when it
    compares equal to that context again, so that an idle server owns no
    context of its own (it is made when the server first runs).
    """
    ctx = proc.ctx
    if ctx is not None:  # made already (a Via name's registration)
        return ctx.run(_run_init, proc, arg)
    base = proc.base
    assert base is not None
    scratch = base.copy()
    result = scratch.run(_run_init_as, proc, arg)
    if scratch != base:  # init set a context variable: the server keeps it
        scratch.run(current_process.set, proc)
        proc.ctx = scratch
        proc.base = None
    return result


def _run_init_as(proc: ServerProcess, arg: object) -> object:
    """`_run_init` with `proc` as the current process only for its duration."""
    token = current_process.set(proc)
    try:
        return proc.impl.init(arg)
    except Exception as exc:
        return _init_failure(exc)
    finally:
        current_process.reset(token)


def _run_init(proc: ServerProcess, arg: object) -> object:
    try:
        return proc.impl.init(arg)
    except Exception as exc:
        return _init_failure(exc)


def _init_failure(exc: Exception) -> Failure:
    """`init` raised: the reason is the exception, or the reason of `otp.Exit`."""
    failure = Exit(exc.reason if isinstance(exc, Exit) else exc)
    failure.__cause__ = exc
    return Failure(failure)


def _finish_start(proc: ServerProcess, parent: Process | None, result: object) -> Pid | None:
    cls_name = proc.behaviour
    if type(result) is Failure:
        reason = result.exc.reason
        exc = result.exc.__cause__
        proc.last = None
        if not is_normal_exit(reason):
            proc.report_crash(reason, exc, init=True)
        _abort_start(proc, parent, reason)
        raise StartError(reason, f"{cls_name}.init raised {_describe(reason)}") from exc
    if not proc.alive:
        raise StartError(proc.reason, f"{cls_name} exited during init: {show(proc.reason)}")
    if type(result) is Ignore:
        _abort_start(proc, parent, "normal")
        return None
    if type(result) is Stop:
        _abort_start(proc, parent, result.reason)
        raise StartError(result.reason, f"{cls_name}.init returned {show(result)}")
    if type(result) in (Reply, NoReply):
        _abort_start(proc, parent, "bad_return_value")
        raise StartError(
            ("bad_return_value", result),
            f"{cls_name}.init must return the state, otp.Ok(state), otp.Ignore() or "
            f"otp.Stop(reason); got {show(result)}",
        )
    proc.starting = False
    proc.busy = False
    if type(result) is Ok:
        proc.state = result.state
        if result.timeout is not None or result.continue_ is not MISSING:
            proc.options(result.timeout, result.continue_)
    else:
        proc.state = result
    proc.wake()
    return proc


def _abort_start(proc: ServerProcess, parent: Process | None, reason: object) -> None:
    """A failed start: unlink first, so the caller gets an error, not an exit signal."""
    if parent is not None:
        parent.remove_link(proc)
        proc.remove_link(parent)
    remote = proc.parent
    if remote is not None and not isinstance(remote, Process) and proc.links:
        proc.rt.route_unlink(proc, remote)  # a parent on another node: the same, over the wire
    proc.die(reason)


def _describe(reason: object) -> str:
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return repr(reason)


def _claim_name(node: Node, proc: ServerProcess, name: object) -> None:
    if name is None:
        return
    if isinstance(name, str):
        holder = node.names.get(name)
        if holder is not None:
            proc.die("normal")
            raise AlreadyStarted(
                holder, f"the name {show(name)} is already taken by {show(holder)}"
            )
        node.names[name] = proc
        proc.name = name
    elif isinstance(name, Via):
        registry = via_registry(node, name.registry)
        ok = proc.own_ctx().run(registry.register_name, name.key, proc)
        if not ok:
            holder_pid = registry.whereis_name(name.key)
            proc.die("normal")
            assert holder_pid is not None
            raise AlreadyStarted(holder_pid, f"{show(name)} is already taken by {show(holder_pid)}")
    else:
        proc.die("normal")
        raise TypeError(
            f"name must be a str, otp.Via(registry, key) or otp.Global(name); "
            f"got {show(name)} ({type(name).__name__})"
        )


async def _claim_global(node: Node, proc: ServerProcess, name: Global) -> None:
    """Register `proc` as `name` in `:global` (every connected node), as gen does."""
    try:
        holder = await global_names(node).register_name(name.name, proc)
    except BaseException:
        proc.die("normal")
        raise
    if holder is not None:
        proc.die("normal")
        raise AlreadyStarted(holder, f"{show(name)} is already taken by {show(holder)}")


__all__ = ["From", "GenServer", "call", "cast", "reply", "start_server", "stop"]
