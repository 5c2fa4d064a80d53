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

Typing: `otp.GenServer[S]` is a server whose state is an `S` (plain
`otp.GenServer` is `otp.GenServer[Any]`). Its callbacks take `state: S`,
plain or `async def`, and return `otp.Reply[S]`, `otp.NoReply[S]` or
`otp.Stop[S]`; `init` takes an argument of any type and returns the state,
`otp.Ok[S]`, `otp.Ignore()` or `otp.Stop(reason)`. Under mypy and pyright,
a result of another state type (or none) is an error, and so is a
`start_link` argument that `init` does not take. `otp.call` returns `Any`:
read its reply into a typed variable, no cast needed.

    >>> class Count(otp.GenServer[int]):
    ...     def init(self, start: int) -> int:
    ...         return start
    ...     def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
    ...         return otp.Reply(state, state + 1)
    >>> async def count() -> int:
    ...     pid = await Count.start_link(41)
    ...     assert pid is not None  # None only when init returned otp.Ignore()
    ...     value: int = await otp.call(pid, "next")
    ...     return value + 1
    >>> otp.run(count)
    42
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, overload

import typing_extensions

from .._runtime._ids import Pid
from .._runtime._messages import Global
from .._runtime._repr import MESSAGE_LIMIT, show, shown
from .._runtime._scheduler import current_node, current_process, node_of

# GenServer's messages from other nodes: registered with the runtime on import.
from . import _server_wire  # noqa: F401
from ._callback_names import check_callback_names
from ._gen_server_client import call, cast, reply, stop
from ._remote_start import node_names, start_elsewhere, start_on_first
from ._results import Ignore, NoReply, Ok, Reply, Stop
from ._server_init import await_init, claim_global, claim_name, finish_start, sync_init
from ._server_messages import From
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
        await claim_global(node, proc, name)
    else:
        claim_name(node, proc, name)
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
        result = await await_init(proc, parent, arg, timeout)
    else:
        slow = node.slow_callback
        t0 = perf() if slow is not None else 0.0
        result = sync_init(proc, arg)
        if slow is not None:
            t1 = perf()
            if t1 - t0 > slow:
                proc.report_nested_slow(("$init", arg), t0, t1)
    return finish_start(proc, parent, result)


__all__ = ["From", "GenServer", "call", "cast", "reply", "start_server", "stop"]
