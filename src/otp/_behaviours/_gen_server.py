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
from threading import get_ident
from typing import TYPE_CHECKING, ClassVar, TypeGuard

from .._errors import AlreadyStarted, CallTimeout, Exit, NoProc, StartError
from .._runtime._call_timeouts import CallTimeouts, check_timeout
from .._runtime._ids import Pid
from .._runtime._messages import Global, Via
from .._runtime._names import noproc, resolve, via_registry
from .._runtime._node import Node
from .._runtime._process import Process, is_normal_exit
from .._runtime._repr import MESSAGE_LIMIT, show, shown
from .._runtime._scheduler import current_node, current_process, node_of, off_loop
from .._runtime._steps import drive
from .._runtime._terms import Atom
from ._callback_names import check_callback_names
from ._results import MISSING, Ignore, NoReply, Ok, Reply, Stop
from ._server_messages import GEN_CAST, Failure, From, System, server_exit
from ._server_process import ServerProcess

if TYPE_CHECKING:
    from .._runtime._names import Dest
    from ._child import ChildSpec

logger = logging.getLogger("otp")
perf = time.perf_counter


class GenServer:
    """Base class of a generic server. Override the callbacks you need.

    Every callback may be a plain function or `async def`.
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

    @classmethod
    async def start_link(
        cls, arg: object = None, *, name: object = None, timeout: float | None = None
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

        Returns:
            The pid, or None when `init` returned `otp.Ignore()`.

        Raises:
            AlreadyStarted: the name is taken (`.pid` holds the owner).
            StartError: `init` raised, returned `otp.Stop(reason)`, or took
                longer than `timeout` seconds. The caller is not killed.
        """
        return await start_server(cls, arg, name, timeout, link=True)

    @classmethod
    async def start(
        cls, arg: object = None, *, name: object = None, timeout: float | None = None
    ) -> Pid | None:
        """Like `start_link`, without the link."""
        return await start_server(cls, arg, name, timeout, link=False)

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A supervisor child spec that starts this server with `start_link(arg)`.

        `opts` holds start options (`name=`, `timeout=`) and spec fields
        (`id=`, `restart=`, `shutdown=`, `significant=`, `restart_delay=`);
        the id defaults to the class. Override it to change the defaults
        for every use of the class, as `use GenServer, restart: ...` does.
        """
        from ._child import ChildSpec

        start_opts = {k: opts.pop(k) for k in ("name", "timeout") if k in opts}
        spec = ChildSpec(id=cls, start=lambda: cls.start_link(arg, **start_opts))  # type: ignore[arg-type]
        return spec.replace(**opts) if opts else spec

    # -- callbacks -----------------------------------------------------------------

    def init(self, arg: object) -> object:
        """Return the initial state (or `Ok(...)`, `Ignore()`, `Stop(reason)`).

        The default makes `arg` the state.
        """
        return arg

    def handle_call(self, request: object, from_: From, state: object) -> object:
        """Answer a `call`: `Reply(reply, state)`, `NoReply(state)` or `Stop(...)`."""
        raise NotImplementedError(
            f"{type(self).__name__} received a call it does not handle: {show(request)}. "
            f"Define handle_call(self, request, from_, state) returning otp.Reply(reply, state)."
        )

    def handle_cast(self, request: object, state: object) -> object:
        """Handle a `cast`: `NoReply(state)` or `Stop(reason, state)`."""
        raise NotImplementedError(
            f"{type(self).__name__} received a cast it does not handle: {show(request)}. "
            f"Define handle_cast(self, request, state) returning otp.NoReply(state)."
        )

    def handle_info(self, msg: object, state: object) -> object:
        """Handle any other message. The default logs it and drops it."""
        proc = current_process.get()
        logger.warning(
            "%s %s received an unexpected message in handle_info: %r",
            type(self).__name__,
            proc._label() if proc is not None else "?",
            shown(msg, proc.rt.report_limit if proc is not None else MESSAGE_LIMIT),
        )
        return NoReply(state)

    def handle_continue(self, arg: object, state: object) -> object:
        """Run after a callback returned `continue_=arg`, before any other message."""
        raise NotImplementedError(
            f"{type(self).__name__} returned continue_={show(arg)} but does not define "
            f"handle_continue(self, arg, state)."
        )

    def terminate(self, reason: object, state: object) -> object:
        """Clean up before the server exits. The return value is ignored.

        Runs on `otp.stop`, a returned `Stop`, a callback exception, and an
        exit signal from the parent while trapping exits; not when the
        server is killed by an exit signal it does not trap.
        """
        return None

    def code_change(self, old_vsn: object, state: object, extra: object) -> object:
        """Transform the state for a new version of the code (see `otp.sys`)."""
        return state

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        """Shape what crash reports and `otp.sys.get_status` show.

        `status` has keys `"state"`, `"message"` and `"reason"`; return it
        with secrets removed or large values summarised.
        """
        return status


async def start_server(
    cls: type[GenServer], arg: object, name: object, timeout: float | None, link: bool
) -> Pid | None:
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"start_link needs a GenServer subclass; got {show(cls)}")
    parent = current_process.get()
    node = node_of(parent, "start_link")
    proc = ServerProcess(node, cls())
    _claim_name(node, proc, name)
    if link and parent is not None:
        proc.parent = parent
        proc.add_link(parent)
        parent.add_link(proc)
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
    elif isinstance(name, Global):
        proc.die("normal")
        raise NotImplementedError(
            "otp.Global names (Erlang's :global) are not supported yet: register a local "
            "name and reach it as (name, node), or share membership with otp.pg"
        )
    else:
        proc.die("normal")
        raise TypeError(
            f"name must be a str, otp.Via(registry, key) or otp.Global(name); "
            f"got {show(name)} ({type(name).__name__})"
        )


# -- the client -------------------------------------------------------------------


async def call(server: Dest, request: object, timeout: float | None = 5.0) -> object:
    """Send `request` to `server` and wait for the reply.

    >>> import otp
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> async def main():
    ...     return await otp.call(await Echo.start_link(None), "hi")
    >>> otp.run(main)
    'hi'

    Waits at most `timeout` seconds (None: forever), then raises
    `CallTimeout`; a late reply is dropped, never delivered to the caller's
    mailbox. If the caller is cancelled, the server may still handle the
    request. Requests from one caller reach the server in the order sent.
    Works from plain asyncio tasks too.

    Raises:
        NoProc: no such process, or it is dead.
        CallTimeout: no reply in time.
        Exit: the server exited while handling the request (`.reason`).
        NotInProcess: not on the node's event loop (another thread: use
            `otp.from_thread.call`).
    """
    if type(timeout) is not float or not timeout >= 0:  # the default 5.0 passes at once
        check_timeout(timeout, "otp.call")
    caller = current_process.get()
    if type(server) is ServerProcess:
        proc: Pid | None = server
        if server.rt.loop_thread != get_ident():  # a thread: otp.from_thread.call
            raise off_loop("otp.call", server.rt, caller)
    else:
        node = node_of(caller, "otp.call")
        proc = resolve(node, server, "call")
        if proc is None:
            if _is_remote_name(server):
                return await node.remote().call(server, request, timeout)
            raise noproc(server, "call to")
    if not isinstance(proc, ServerProcess):
        assert proc is not None
        return await _call_other(proc, server, request, timeout, caller)
    if not proc.alive:
        raise NoProc("noproc", f"call to {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit(
            "calling_self",
            f"{proc} called itself with {show(request)}: a process cannot wait for its own "
            f"reply (it would deadlock). Call a helper function directly instead.",
        )
    # Fast path: an idle server with a plain handle_call answers inside our step.
    node = proc.rt
    if (
        not proc.busy
        and not proc.scheduled
        and not proc.mailbox
        and not proc.suspended
        and not type(proc.impl)._otp_async_call
        and node.inline_left
    ):
        node.inline_left -= 1
        from_ = _call_inline(proc, request, caller)
        if caller is not None and not caller.alive:
            # The server killed its caller (`otp.exit(from_.caller, ...)` in
            # handle_call): the caller's task is cancelled and must not go on
            # with the reply, as it would not have received it in Erlang.
            raise asyncio.CancelledError
        if from_.done:
            value = from_.value
            if type(value) is Failure:
                raise value.exc
            return value
        return await _wait_inline(proc, from_, timeout)
    node.inline_left = node.inline_budget
    from_ = From(caller, request, proc)
    fut = from_.fut = node.create_future()
    mb = proc.mailbox
    if mb and proc.scheduled and proc.timer is None:
        mb.append(from_)  # enqueue's work, when run is already due (as in cast)
    else:
        proc.enqueue(from_)
    if timeout is None:
        return await fut
    # _wait_reply and _start_clock, inlined: two calls less on every queued call
    timeouts = node.call_timeouts.get(timeout)
    if timeouts is None:
        timeouts = node.call_timeouts[timeout] = CallTimeouts(node.loop, timeout)
    timeouts.add(from_, server)
    try:
        return await fut
    finally:
        from_.done = True  # a caller cancelled meanwhile drops any late reply
        timeouts.settle()


async def _wait_reply(
    node: Node, from_: From, fut: asyncio.Future[object], server: object, timeout: float | None
) -> object:
    if timeout is None:
        return await fut
    timeouts = _start_clock(node, timeout, from_, server)
    try:
        return await fut
    finally:
        from_.done = True  # a caller cancelled meanwhile drops any late reply
        timeouts.settle()


def _start_clock(node: Node, timeout: float, from_: From, server: object) -> CallTimeouts:
    """Start the timeout of a waiting call, on the node's timer for that timeout value."""
    timeouts = node.call_timeouts.get(timeout)
    if timeouts is None:
        timeouts = node.call_timeouts[timeout] = CallTimeouts(node.loop, timeout)
    timeouts.add(from_, server)
    return timeouts


def _call_inline(proc: ServerProcess, request: object, caller: Process | None) -> From:
    """Run `handle_call` inside the caller's step; the returned From says if it replied."""
    # The server runs handle_call in our step, as itself: busy so that
    # messages it sends to itself queue instead of re-entering it.
    from_ = From(caller, request, proc)
    proc.busy = True
    proc.last = from_
    proc.handled += 1
    if proc.timer is not None:  # like any message, the call cancels a `timeout=`
        proc.timer.cancel()
        proc.timer = None
        proc.idle = None
    slow = proc.rt.slow_callback
    t0 = perf() if slow is not None else 0.0
    try:
        ctx = proc.ctx
        # In the server's context, as itself.
        (ctx if ctx is not None else proc.own_ctx()).run(proc.handle_call, from_)
    finally:
        if proc.task is None:
            proc.busy = False
    if slow is not None:
        t1 = perf()
        if t1 - t0 > slow:
            proc.report_nested_slow(from_, t0, t1)
    if proc.kill_reason is not None and proc.alive:
        proc.die(proc.kill_reason)
    if proc.mailbox or proc.cont is not MISSING:
        proc.wake()
    return from_


async def _wait_inline(proc: ServerProcess, from_: From, timeout: float | None) -> object:
    """An inline call that did not reply at once (NoReply, async handler): wait for it."""
    if not proc.alive:
        raise _exit_during_call(proc, from_.request)
    node = proc.rt
    fut = from_.fut = node.create_future()
    return await _wait_reply(node, from_, fut, proc, timeout)


def _exit_during_call(proc: Process, request: object) -> Exit:
    return server_exit(proc, proc.reason, request)


async def _call_other(
    proc: Pid, server: object, request: object, timeout: float | None, caller: Process | None
) -> object:
    """A call to a plain process, which answers `("$gen_call", from_, request)` by hand."""
    if not isinstance(proc, Process):
        node = caller.rt if caller is not None else current_node()
        return await node.remote().call(proc, request, timeout)
    if not proc.alive:
        raise NoProc("noproc", f"call to {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit("calling_self", f"{proc} called itself: that would deadlock")
    node = proc.rt
    watcher = _Watch(node.loop, proc)
    from_ = watcher.from_(caller, request)
    proc.enqueue(("$gen_call", from_, request))
    try:
        return await _wait_reply(node, from_, from_.fut, server, timeout)  # type: ignore[arg-type]
    finally:
        watcher.close()


class _Watch:
    """Fails a call to a plain process when that process exits first."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proc: Process) -> None:
        self.proc = proc
        self.exit = proc.wait_exit()
        self.call: From | None = None
        self.exit.add_done_callback(self._on_exit)

    def from_(self, caller: Process | None, request: object) -> From:
        from_ = From(caller, request, None)
        from_.fut = self.proc.rt.loop.create_future()
        self.call = from_
        return from_

    def _on_exit(self, fut: asyncio.Future[object]) -> None:
        if self.call is not None and not fut.cancelled():
            self.call.fail(fut.result())

    def close(self) -> None:
        self.exit.remove_done_callback(self._on_exit)


def cast(server: Dest, request: object) -> None:
    """Send `request` to `server` without waiting; never raises for a missing server.

    Casts from one sender reach the server in the order sent.

    Raises:
        NotInProcess: no node runs here, or this is not the node's event
            loop (another thread: use `otp.from_thread.cast`).
    """
    if type(server) is ServerProcess:
        if server.rt.loop_thread != get_ident():  # a thread: otp.from_thread.cast
            raise off_loop("otp.cast", server.rt, current_process.get())
        mb = server.mailbox
        if mb and server.scheduled and server.timer is None:
            mb.append((GEN_CAST, request))  # enqueue's work, when run is already due
        else:
            server.enqueue((GEN_CAST, request))
        return
    node = current_node("otp.cast")  # no node is an error: the cast would be lost
    try:
        pid = resolve(node, server, "cast")
        if isinstance(pid, Process):
            pid.enqueue((GEN_CAST, request))
        elif pid is not None:
            node.route_send(pid, (_WIRE_CAST, request))
        elif _is_remote_name(server):
            node.remote().send_name(server[0], server[1], (_WIRE_CAST, request))
    except Exception:  # a bad or unknown name, no connection: dropped
        return


def reply(from_: From, value: object) -> None:
    """Answer a call that `handle_call` left with `NoReply`; works from any process.

    Replying to a caller that has already timed out or gone does nothing.
    """
    if not isinstance(from_, From):
        raise TypeError(
            f"reply needs the from_ argument that handle_call received; got {show(from_)}"
        )
    server = from_.server
    if server is not None and server.rt.loop_thread != get_ident():
        raise off_loop("otp.reply", server.rt, current_process.get())
    from_.reply(value)


async def stop(server: Dest, reason: object = "normal", timeout: float | None = None) -> None:
    """Stop `server` with `reason`, running its `terminate`, and wait until it exited.

    >>> import otp
    >>> class Quiet(otp.GenServer):
    ...     def terminate(self, reason, state):
    ...         print("terminate", reason)
    >>> async def main():
    ...     pid = await Quiet.start(None)
    ...     await otp.stop(pid, "shutdown")
    ...     return otp.is_alive(pid)
    >>> otp.run(main)
    terminate shutdown
    False

    The stop request queues behind the messages already in the mailbox.
    Waits at most `timeout` seconds (None: forever) for the exit. If the
    caller is cancelled, the server still stops.

    Raises:
        NoProc: the server is not alive.
        CallTimeout: it did not exit within `timeout` seconds.
        Exit: it exited with another reason than `reason` (e.g. terminate raised).
    """
    check_timeout(timeout, "otp.stop")
    caller = current_process.get()
    node = node_of(caller, "otp.stop")
    proc = resolve(node, server, "stop")
    if proc is None:
        if _is_remote_name(server):
            return await _stop_remote(node, server, reason, timeout)
        raise noproc(server, "stop of")
    if not isinstance(proc, Process):
        return await _stop_remote(node, proc, reason, timeout)
    if not proc.alive:
        raise NoProc("noproc", f"stop of {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit("calling_self", f"{proc} tried to stop itself with otp.stop; return otp.Stop")
    done = proc.wait_exit()
    if isinstance(proc, ServerProcess):
        proc.enqueue(System("stop", reason, None))
    else:
        proc.exit_signal(caller if caller is not None else proc, reason, False)
    try:
        actual = await asyncio.wait_for(done, timeout)
    except TimeoutError:
        raise CallTimeout("timeout", f"{show(server)} did not stop within {timeout} s") from None
    if not _same_reason(actual, reason):
        raise Exit(actual, f"{show(server)} exited with {show(actual)} instead of {show(reason)}")


def _is_remote_name(server: object) -> TypeGuard[tuple[str, str]]:
    """`(name, node)` naming a process on another node (`resolve` found no local one)."""
    return (
        type(server) is tuple
        and len(server) == 2
        and isinstance(server[0], str)
        and isinstance(server[1], str)
    )


#: A cast as it travels between nodes: `{'$gen_cast', Request}` with an atom tag.
_WIRE_CAST = Atom(GEN_CAST)


async def _stop_remote(node: Node, target: object, reason: object, timeout: float | None) -> None:
    """OTP's `proc_lib:stop` on another node: a `{terminate, Reason}` system message."""
    wire = Atom(reason) if type(reason) is str else reason
    try:
        await node.remote().call(
            target,  # type: ignore[arg-type]
            (Atom("terminate"), wire),
            timeout,
            label="system",
        )
    except Exit as exc:
        if isinstance(exc, NoProc | CallTimeout) or not (
            _same_reason(exc.reason, reason)
            or (isinstance(exc.reason, str) and isinstance(reason, str) and exc.reason == reason)
        ):
            raise


def _same_reason(a: object, b: object) -> bool:
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, BaseException):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


__all__ = ["From", "GenServer", "call", "cast", "reply", "start_server", "stop"]
