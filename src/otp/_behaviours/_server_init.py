"""How `start_link` runs `init` and settles its result (see `start_server`).

`init` runs in the new process before the start returns: a plain one in
the server's context (kept only if `init` set a context variable), an
`async def` one as the server's task, awaited for at most the start's
timeout. Its result is the state, `Ok`, `Ignore` or `Stop`; a name is
claimed before `init` runs.
"""

from __future__ import annotations

import asyncio

from .._errors import AlreadyStarted, Exit, StartError
from .._runtime._ids import Pid
from .._runtime._messages import Global, Via
from .._runtime._names import global_names, via_registry
from .._runtime._node import Node
from .._runtime._process import Process, is_normal_exit
from .._runtime._repr import show
from .._runtime._scheduler import current_process
from .._runtime._steps import drive
from ._results import MISSING, Ignore, NoReply, Ok, Reply, Stop
from ._server_messages import Failure
from ._server_process import ServerProcess


async def await_init(
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
    return None if task.cancelled() else task.result()  # killed: finish_start says so


async def _async_init(proc: ServerProcess, arg: object) -> object:
    try:
        return await proc.impl.init(arg)  # type: ignore[misc]
    except Exception as exc:
        return _init_failure(exc)


def sync_init(proc: ServerProcess, arg: object) -> object:
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


def finish_start(proc: ServerProcess, parent: Process | None, result: object) -> Pid | None:
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


def claim_name(node: Node, proc: ServerProcess, name: object) -> None:
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


async def claim_global(node: Node, proc: ServerProcess, name: Global) -> None:
    """Register `proc` as `name` in `:global` (every connected node), as gen does."""
    try:
        holder = await global_names(node).register_name(name.name, proc)
    except BaseException:
        proc.die("normal")
        raise
    if holder is not None:
        proc.die("normal")
        raise AlreadyStarted(holder, f"{show(name)} is already taken by {show(holder)}")
