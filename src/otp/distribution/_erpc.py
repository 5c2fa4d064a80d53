"""`otp.erpc`: call a function on another node with erpc's wire protocol.

As Erlang's `erpc:call/5` does, the caller sends a spawn request of
`erpc:execute_call(Res, M, F, A)` with the `monitor` option; the process on
the other node runs `M:F(A)` and exits with `{Res, return, Value}` (or
`throw`, `exit`, `error` with the reason and stack), which arrives as the
monitor's exit reason (`Spawning.down`). So it works with every node that
answers spawn requests: Erlang, Elixir, and Python nodes (which emulate
`execute_call`, see `_spawn_targets.py`).

Outcomes: the value; RemoteThrow, RemoteExit, RemoteError for the three
classes; SpawnError when the other node refused the spawn; NoConnection
when the connection is lost (at once, never a hang); CallTimeout after
`timeout`, after which the monitor is dropped and a late result with it.
`erpc:cast` spawns `erpc:execute_cast(M, F, A)` and waits for nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from typing import cast as typed

from .._errors import CallTimeout, NoConnection, RemoteError, RemoteExit, RemoteThrow
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_node, current_process
from .._runtime._terms import Atom
from ._spawn import request, target_of
from ._spawn_targets import execute_call
from ._spawned import run_target

if TYPE_CHECKING:
    from ._node import Distribution

_EXECUTE_CALL = ("erpc", "execute_call")
_EXECUTE_CAST = ("erpc", "execute_cast")


def _mfa(target: object, function: object, args: object) -> tuple[Atom, Atom, list[object]]:
    """The `(module, function, args)` a call names: strings, or a callable and its args."""
    if isinstance(target, str):
        if not isinstance(function, str):
            raise TypeError(
                f"erpc needs (node, module, function, args) or (node, callable, args); "
                f"got module {show(target)} with function {show(function)}"
            )
        return target_of((target, function), tuple(_args(args)))
    if not callable(target):
        raise TypeError(
            f"erpc needs a module name or a Python callable; got {show(target)} "
            f"({type(target).__name__})"
        )
    return target_of(target, tuple(_args(function)))


def _args(args: object) -> list[object]:
    if isinstance(args, (list, tuple)):
        return list(args)
    raise TypeError(f"erpc's arguments are a list or a tuple; got {show(args)}")


async def call(
    dist: Distribution,
    node: str,
    target: object,
    function: object,
    args: object,
    timeout: float | None,
) -> object:
    """Run `module:function(*args)` on `node`; its result, or the exception (module docstring)."""
    module, fun, wire_args = _mfa(target, function, args)
    res = dist.node.make_ref()
    if node == dist.name:
        return await _call_here(dist, res, module, fun, wire_args, timeout)
    caller = current_process.get()
    loop = dist.loop
    outcome: asyncio.Future[object] = loop.create_future()

    def result(reason: object) -> None:
        if not outcome.done():
            outcome.set_result(reason)

    spawning = request(
        dist,
        node,
        _EXECUTE_CALL,
        (res, module, fun, wire_args),
        caller,
        monitor=True,
        result=result,
    )

    def refused(fut: asyncio.Future[object]) -> None:
        if not fut.cancelled() and fut.exception() is not None and not outcome.done():
            outcome.set_exception(fut.exception())  # type: ignore[arg-type]

    spawning.fut.add_done_callback(refused)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(timeout):
            reason = await outcome
    except TimeoutError:
        spawning.abandon()
        raise CallTimeout(
            "timeout",
            f"erpc call of {module}:{fun} on node {node!r} got no result within {timeout} s",
        ) from None
    except BaseException:
        spawning.abandon()
        raise
    return decode_outcome(reason, res, node, module, fun)


async def _call_here(
    dist: Distribution,
    res: object,
    module: Atom,
    fun: Atom,
    args: list[object],
    timeout: float | None,
) -> object:
    """erpc to this node itself: the same process and outcome, without a connection."""
    proc = dist.node.spawn(execute_call, (dist, res, module, fun, args))
    assert isinstance(proc, Process)
    exited = proc.wait_exit()
    try:
        async with asyncio.timeout(timeout):
            reason = await exited
    except TimeoutError:
        raise CallTimeout(
            "timeout", f"erpc call of {module}:{fun} on this node got no result within {timeout} s"
        ) from None
    return decode_outcome(reason, res, dist.name, module, fun)


def decode_outcome(reason: object, res: object, node: str, module: str, fun: str) -> object:
    """The value in an `execute_call` exit reason, or the exception it stands for."""
    where = f"{module}:{fun} on node {node!r}"
    if type(reason) is tuple and len(reason) in (3, 4) and reason[0] == res:
        kind, value = reason[1], reason[2]
        if kind == "return" and len(reason) == 3:
            return value
        if kind == "throw":
            raise RemoteThrow(value, f"{where} threw {show(value)}", node)
        if kind == "exit":
            raise RemoteExit(value, f"{where} exited with {show(value)}", node)
        if kind == "error":
            stack = reason[3] if len(reason) == 4 else []
            raise RemoteError(
                value,
                _error_message(where, value),
                node,
                list(stack) if isinstance(stack, list) else [],
            )
    if isinstance(reason, str) and reason == "noconnection":
        raise NoConnection("noconnection", f"erpc call of {where} failed: the connection was lost")
    raise RemoteExit(
        reason,
        f"the process running {where} was killed by an exit signal: {show(reason)}",
        node,
        True,
    )


def _error_message(where: str, reason: object) -> str:
    if type(reason) is tuple and len(reason) == 3 and reason[0] == "python":
        return f"{reason[1]}: {reason[2]} (raised by {where})"
    if type(reason) is tuple and len(reason) == 3 and reason[0] == "rpc_not_allowed":
        return (
            f"{where} is not allowed: module {reason[1]!s} is not in that node's rpc= "
            f"allow-list {show(reason[2])}"
        )
    if isinstance(reason, str) and reason == "undef":
        return f"{where} is undefined there (no such module or function)"
    return f"{where} failed with error {show(reason)}"


def cast(dist: Distribution, node: str, target: object, function: object, args: object) -> None:
    """Start `module:function(*args)` on `node` and wait for nothing (erpc:cast)."""
    module, fun, wire_args = _mfa(target, function, args)
    if node == dist.name:
        dist.node.spawn(_cast_here, (dist, module, fun, wire_args))
        return
    request(dist, node, _EXECUTE_CAST, (module, fun, wire_args), current_process.get())


async def _cast_here(dist: Distribution, module: Atom, fun: Atom, args: list[object]) -> None:
    await run_target(dist, Atom("erpc"), Atom("execute_cast"), [module, fun, args])


def distribution() -> Distribution:
    """This node's distribution; NoConnection if it has none (it was started without a name)."""
    return typed("Distribution", current_node("otp.erpc").remote())


__all__ = ["call", "cast", "decode_outcome", "distribution"]
