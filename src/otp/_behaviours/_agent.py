"""Agent: a process that holds a state, read and changed with functions.

An agent is the simplest way to share a value between processes: the
functions passed to it run inside the agent, one at a time.

Example::

    >>> import otp
    >>> async def main():
    ...     counter = await otp.Agent.start_link(lambda: 0, name="counter")
    ...     await otp.Agent.update(counter, lambda n: n + 1)
    ...     otp.Agent.cast("counter", lambda n: n + 10)
    ...     return await otp.Agent.get("counter", lambda n: n)
    >>> otp.run(main)
    11

Client/server API: `get`, `update` and `get_and_update` wait for the agent
(they are `otp.call`s); `cast` does not. The function runs in the agent,
so keep it quick: while it runs, every other client waits. Do expensive
work in the caller, and send the agent only the cheap change. Functions
may be `async def`; the agent handles nothing else until they return.

How to supervise: an Agent is a GenServer, so `otp.Agent.child_spec(fn,
name="counter")` puts one under a supervisor; a restart runs `fn` again,
so the state starts afresh.

Name registration: `start_link(fn, name="counter")` registers a name, or
`otp.Via(registry, key)`; every function takes the pid or the name.

Timeouts: `get`, `update` and `get_and_update` wait 5 seconds by default,
then raise `otp.CallTimeout`; the function may still run later.

When not to use it: an agent serialises every access. For data that many
processes read, use an `otp.Table`; for a state with its own behaviour
(timers, messages, several operations), write a GenServer.

Debugging: `otp.sys.get_state(agent)`.

Typing: `start_link` returns an `otp.Agent[T]`, the agent's pid typed with
the value it holds (`isinstance(agent, otp.Agent)` and `otp.Pid` are true):
the functions that `get`, `update`, `get_and_update` and `cast` take on it
are checked against `T`, and `get` returns what its function returns. A
name (`"counter"`, `(name, node)`, `otp.Via`, `otp.Global`) carries no type:
the functions then take `Any`. A plain `otp.Pid` is not accepted by the type
checker (at run time it works): as every `otp.Agent` is a `Pid`, a function
that does not fit the agent's value would pass as if the agent were untyped.

    >>> async def typed() -> int:
    ...     agent = await otp.Agent.start_link(lambda: 0)  # an otp.Agent[int]
    ...     await otp.Agent.update(agent, lambda n: n + 1)  # n: int
    ...     return await otp.Agent.get(agent, lambda n: n * 10)  # an int
    >>> otp.run(typed)
    10
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final, overload

import typing_extensions

from .._runtime._ids import Pid
from .._runtime._messages import Global, Via
from .._runtime._names import Dest
from .._runtime._repr import show
from ._gen_server import From, GenServer, call, cast, stop
from ._results import NoReply, Ok, Reply
from ._server_process import ServerProcess

if TYPE_CHECKING:
    from ._child import ChildSpec

#: The type of the agent's value: `otp.Agent[int]` holds an int.
T = typing_extensions.TypeVar("T", default=Any)
V = TypeVar("V")
R = TypeVar("R")

#: What names an agent without typing it: the functions then take `Any`. Not a
#: plain `Pid`: an `otp.Agent[int]` is one, and a function that does not fit
#: its value would then be accepted as if the agent were untyped.
_Name = str | Via | Global | tuple[str, str]


class _AgentMeta(type):
    """`isinstance(pid, otp.Agent)`: the pid is the process of an agent on this node.

    The process of an agent is a plain `ServerProcess` (so that `call` and
    `cast` keep their `type(server) is ServerProcess` fast paths, and
    `otp.sys` may swap in its debugged subclass and back) whose callback
    module is `_AgentServer`: that is what makes it an `otp.Agent`.
    """

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, ServerProcess) and type(obj.impl) is _AgentServer


@final
class Agent(Pid, Generic[T], metaclass=_AgentMeta):
    """The pid of an agent holding a `T`; the class holds the Agent functions."""

    __slots__ = ()

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError("otp.Agent has no public constructor: use otp.Agent.start_link(fn)")

    # -- client API ---------------------------------------------------------------

    @overload
    @staticmethod
    async def start_link(
        fn: Callable[[], Awaitable[V]], *, name: object = None, timeout: float | None = None
    ) -> Agent[V]: ...
    @overload
    @staticmethod
    async def start_link(
        fn: Callable[[], V], *, name: object = None, timeout: float | None = None
    ) -> Agent[V]: ...
    @staticmethod
    async def start_link(
        fn: Callable[[], object], *, name: object = None, timeout: float | None = None
    ) -> Agent[Any]:
        """Start an agent linked to the caller, with state `fn()`; return its pid.

        `fn` (plain or `async def`) runs in the agent before this returns.

        Raises:
            AlreadyStarted: `name` is taken (`.pid` holds the owner).
            StartError: `fn` raised (`.reason` is the exception).
        """
        _check_fn(fn, "Agent.start_link")
        pid = await _AgentServer.start_link(fn, name=name, timeout=timeout)
        assert pid is not None
        return pid  # type: ignore[return-value]  # an _AgentServer's process: an Agent

    @overload
    @staticmethod
    async def start(
        fn: Callable[[], Awaitable[V]], *, name: object = None, timeout: float | None = None
    ) -> Agent[V]: ...
    @overload
    @staticmethod
    async def start(
        fn: Callable[[], V], *, name: object = None, timeout: float | None = None
    ) -> Agent[V]: ...
    @staticmethod
    async def start(
        fn: Callable[[], object], *, name: object = None, timeout: float | None = None
    ) -> Agent[Any]:
        """Like `start_link`, without the link."""
        _check_fn(fn, "Agent.start")
        pid = await _AgentServer.start(fn, name=name, timeout=timeout)
        assert pid is not None
        return pid  # type: ignore[return-value]  # an _AgentServer's process: an Agent

    @staticmethod
    def child_spec(fn: Callable[[], object], **opts: object) -> ChildSpec:
        """A supervisor child spec that starts an agent with `start_link(fn, ...)`.

        `opts` are as for `GenServer.child_spec` (`name=`, `id=`, `restart=`,
        ...); the id defaults to `otp.Agent`.
        """
        return _AgentServer.child_spec(fn, **{"id": Agent, **opts})

    @overload
    @staticmethod
    async def get(
        agent: Agent[V], fn: Callable[[V], Awaitable[R]], timeout: float | None = 5.0
    ) -> R: ...
    @overload
    @staticmethod
    async def get(agent: Agent[V], fn: Callable[[V], R], timeout: float | None = 5.0) -> R: ...
    @overload
    @staticmethod
    async def get(
        agent: _Name, fn: Callable[[Any], Awaitable[R]], timeout: float | None = 5.0
    ) -> R: ...
    @overload
    @staticmethod
    async def get(agent: _Name, fn: Callable[[Any], R], timeout: float | None = 5.0) -> R: ...
    @staticmethod
    async def get(agent: Dest, fn: Callable[[Any], object], timeout: float | None = 5.0) -> Any:
        """Return `fn(state)`, computed in the agent; the state does not change.

        >>> import otp
        >>> async def main():
        ...     agent = await otp.Agent.start_link(lambda: {"a": 1})
        ...     return await otp.Agent.get(agent, lambda d: d["a"])
        >>> otp.run(main)
        1

        Waits at most `timeout` seconds (None: forever). Requests from one
        caller are handled in the order sent. Raises what `otp.call` raises;
        if `fn` raises, the agent crashes and this raises `otp.Exit`.
        """
        _check_fn(fn, "Agent.get")
        return await call(agent, ("get", fn), timeout)

    @overload
    @staticmethod
    async def update(
        agent: Agent[V], fn: Callable[[V], V | Awaitable[V]], timeout: float | None = 5.0
    ) -> None: ...
    @overload
    @staticmethod
    async def update(
        agent: _Name, fn: Callable[[Any], object], timeout: float | None = 5.0
    ) -> None: ...
    @staticmethod
    async def update(agent: Dest, fn: Callable[[Any], object], timeout: float | None = 5.0) -> None:
        """Replace the state with `fn(state)` and wait until it is done.

        >>> import otp
        >>> async def main():
        ...     agent = await otp.Agent.start_link(list)
        ...     await otp.Agent.update(agent, lambda items: [*items, "x"])
        ...     return await otp.Agent.get(agent, len)
        >>> otp.run(main)
        1

        Waits at most `timeout` seconds, like `get`.
        """
        _check_fn(fn, "Agent.update")
        await call(agent, ("update", fn), timeout)

    @overload
    @staticmethod
    async def get_and_update(
        agent: Agent[V],
        fn: Callable[[V], Awaitable[tuple[R, V]]],
        timeout: float | None = 5.0,
    ) -> R: ...
    @overload
    @staticmethod
    async def get_and_update(
        agent: Agent[V], fn: Callable[[V], tuple[R, V]], timeout: float | None = 5.0
    ) -> R: ...
    @overload
    @staticmethod
    async def get_and_update(
        agent: _Name, fn: Callable[[Any], Awaitable[tuple[R, Any]]], timeout: float | None = 5.0
    ) -> R: ...
    @overload
    @staticmethod
    async def get_and_update(
        agent: _Name, fn: Callable[[Any], tuple[R, Any]], timeout: float | None = 5.0
    ) -> R: ...
    @staticmethod
    async def get_and_update(
        agent: Dest, fn: Callable[[Any], object], timeout: float | None = 5.0
    ) -> Any:
        """Run `fn(state)`, which returns `(reply, new_state)`: store the state, return the reply.

        >>> import otp
        >>> async def main():
        ...     agent = await otp.Agent.start_link(lambda: 5)
        ...     old = await otp.Agent.get_and_update(agent, lambda n: (n, n * 2))
        ...     return old, await otp.Agent.get(agent, lambda n: n)
        >>> otp.run(main)
        (5, 10)

        Waits at most `timeout` seconds, like `get`.
        """
        _check_fn(fn, "Agent.get_and_update")
        return await call(agent, ("get_and_update", fn), timeout)

    @overload
    @staticmethod
    def cast(agent: Agent[V], fn: Callable[[V], V | Awaitable[V]]) -> None: ...
    @overload
    @staticmethod
    def cast(agent: _Name, fn: Callable[[Any], object]) -> None: ...
    @staticmethod
    def cast(agent: Dest, fn: Callable[[Any], object]) -> None:
        """Replace the state with `fn(state)` without waiting; never raises for a missing agent."""
        _check_fn(fn, "Agent.cast")
        cast(agent, ("update", fn))

    @staticmethod
    async def stop(agent: Dest, reason: object = "normal", timeout: float | None = None) -> None:
        """Stop the agent with `reason` and wait until it exited (see `otp.stop`)."""
        await stop(agent, reason, timeout)


class _AgentServer(GenServer[Any]):
    """The callbacks of an agent: its state is read and changed by functions sent to it."""

    _otp_label = "Agent"

    async def init(self, fn: Callable[[], object]) -> Ok[Any]:
        assert callable(fn)
        state = fn()
        if inspect.isawaitable(state):
            state = await state
        return Ok(state)

    def handle_call(
        self, request: object, from_: From, state: Any
    ) -> Reply[Any] | Awaitable[Reply[Any]]:
        kind, fn = _unpack(request, "call")
        result = fn(state)
        if inspect.isawaitable(result):
            return _finish_call(kind, result, state)
        return _reply(kind, result, state)

    def handle_cast(self, request: object, state: Any) -> NoReply[Any] | Awaitable[NoReply[Any]]:
        _, fn = _unpack(request, "cast")
        result = fn(state)
        if inspect.isawaitable(result):
            return _finish_cast(result)
        return NoReply(result)


async def _finish_call(kind: str, result: Any, state: object) -> Reply[Any]:
    return _reply(kind, await result, state)


async def _finish_cast(result: Any) -> NoReply[Any]:
    return NoReply(await result)


def _reply(kind: str, result: object, state: object) -> Reply[Any]:
    if kind == "get":
        return Reply(result, state)
    if kind == "update":
        return Reply(None, result)
    if not (type(result) is tuple and len(result) == 2):
        raise TypeError(
            f"the function given to Agent.get_and_update must return a (reply, new_state) "
            f"tuple; got {show(result)} ({type(result).__name__})"
        )
    return Reply(result[0], result[1])


def _unpack(request: object, what: str) -> tuple[str, Callable[[object], object]]:
    if type(request) is tuple and len(request) == 2 and callable(request[1]):
        return request[0], request[1]
    raise TypeError(
        f"an Agent only accepts the requests of otp.Agent.get/update/get_and_update/cast; "
        f"got the {what} {show(request)}"
    )


def _check_fn(fn: object, what: str) -> None:
    if not callable(fn):
        hint = (
            f" (to start with the value {show(fn)}, pass lambda: {show(fn)})"
            if "start" in what
            else ""
        )
        raise TypeError(
            f"{what} needs a function (plain or async def); got {show(fn)} "
            f"({type(fn).__name__}){hint}"
        )


__all__ = ["Agent"]
