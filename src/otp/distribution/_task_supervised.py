"""Elixir's `Task.Supervisor` calling a Python TaskSupervisor: `{start_task, ...}` and its tasks.

On an Elixir node, `Task.Supervisor.async({sup, :"py@host"}, Mod, :fun,
args)`, `async_nolink`, `async_stream` and `start_child` call the
supervisor with `{start_task, Args, Restart, Shutdown}` (Elixir 1.14):

- `Args = [Owner, monitor | nomonitor]` for the tasks awaited by their
  owner. The supervisor answers `{ok, Pid}`; the owner then links to the
  task (`async`, not `async_nolink`), monitors it, and sends it
  `{OwnerPid, Ref, ReplyTo, Callers, {M, F, A}}`. The task runs `M:F(A)`,
  sends `{Ref, Result}` to `ReplyTo` (the owner's pid, or the alias of its
  monitor) and exits `normal`. Until that message arrives, the task
  monitors the owner: the owner's death ends it with `{shutdown, Reason}`,
  and no message within 5 seconds with `timeout`, as Elixir's tasks do.
- `Args = [Owner, Callers, {M, F, A}]` for `start_child`: the task runs
  `M:F(A)` at once, for nobody.

`Owner` is `{Node, NameOrPid, Pid}`. `M:F(A)` is resolved and allow-listed
as a spawn from another node is (`_spawn_targets`): the module is a Python
module (`:"pkg.mod"`), checked against this node's `rpc=`. A task that
fails exits as an Elixir task does, `{Reason, Stack}`: a Python exception
is `{{python, <<"ValueError">>, <<"message">>}, Stack}`, a module outside
the allow-list `{{rpc_not_allowed, Module, AllowList}, Stack}`, so
`Task.await` exits with it in Elixir.

Restart is `temporary`, `transient`, `permanent` or `nil` (temporary);
Shutdown is milliseconds, `brutal_kill` or `nil` (5000). Not copied from
Elixir: the supervisor-wide `:restart` and `:shutdown` of
`Task.Supervisor.start_link` (a Python TaskSupervisor has none), the
`$callers` and `$initial_call` process keys, and the error log of a
failing task (the supervisor logs the child's exit instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, cast

from .._behaviours._child import ChildSpec, Restart, Shutdown
from .._behaviours._dynamic_supervisor import FOREIGN_STARTS
from .._errors import Exit, MaxChildren, RemoteError, RemoteExit, RemoteThrow, StartError
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import receive
from .._runtime._messages import Down
from .._runtime._scheduler import current_node, self_process
from .._runtime._signals import demonitor, monitor
from .._runtime._spawning import spawn_link
from .._runtime._terms import Atom
from ._control import ALIAS_SEND, encodes
from ._spawn_targets import Failure, apply, python_error, stack_of

if TYPE_CHECKING:
    from ._node import Distribution

_OK: Final = Atom("ok")
_ERROR: Final = Atom("error")
_MONITOR: Final = Atom("monitor")
_NOMONITOR: Final = Atom("nomonitor")
_NOCATCH: Final = Atom("nocatch")
_PYTHON: Final = Atom("python")
_RESTARTS: Final[dict[object, Restart]] = {
    None: "temporary",
    Atom("nil"): "temporary",
    Atom("temporary"): "temporary",
    Atom("transient"): "transient",
    Atom("permanent"): "permanent",
}
#: How long a task waits for its owner's `{Pid, Ref, ReplyTo, Callers, MFA}`, as Elixir's.
_REF_TIMEOUT: Final = 5.0


async def start_task(
    request: tuple[object, ...], start_child: Callable[[ChildSpec], Awaitable[object]]
) -> object:
    """Serve `{start_task, Args, Restart, Shutdown}`: `{ok, Pid}` or `{error, Reason}`."""
    rt = current_node("Task.Supervisor")
    parsed = _parse(request)
    if parsed is None or rt.dist is None:
        return _ERROR, (Atom("badarg"), request)
    dist = cast("Distribution", rt.dist)  # the one implementation of the runtime's protocol
    body, restart, shutdown = parsed
    spec = ChildSpec(
        id=Atom("Elixir.Task.Supervised"),
        start=lambda: _spawn(body, dist),
        restart=restart,
        shutdown=shutdown,
    )
    outcome = await start_child(spec)
    if isinstance(outcome, Pid):
        return _OK, outcome
    if isinstance(outcome, MaxChildren):
        return _ERROR, Atom("max_children")
    if isinstance(outcome, StartError):
        return _ERROR, outcome.reason
    return _ERROR, outcome


_Body = tuple[object, ...]


def _parse(request: tuple[object, ...]) -> tuple[_Body, Restart, Shutdown] | None:
    """`(body, restart, shutdown)` of a well-formed request, else None."""
    if len(request) != 4 or type(request[1]) is not list:
        return None
    args, restart, shutdown = request[1], request[2], request[3]
    restart_ = _RESTARTS.get(restart)
    shutdown_: Shutdown
    if shutdown is None or shutdown == "nil":
        shutdown_ = 5.0
    elif shutdown == "brutal_kill":
        shutdown_ = "brutal_kill"
    elif type(shutdown) is int and shutdown >= 0:
        shutdown_ = shutdown / 1000
    elif shutdown == "infinity":
        shutdown_ = None
    else:
        return None
    if restart_ is None or not args or not _owner_pid(args[0]):
        return None
    if len(args) == 2 and args[1] in (_MONITOR, _NOMONITOR):
        return ("reply", args[0], args[1] == _MONITOR), restart_, shutdown_
    if len(args) == 3 and _is_mfa(args[2]):
        return ("noreply", args[2]), restart_, shutdown_
    return None


def _owner_pid(owner: object) -> Pid | None:
    """The pid in an owner `{Node, NameOrPid, Pid}`."""
    if type(owner) is tuple and len(owner) == 3 and isinstance(owner[2], Pid):
        return owner[2]
    return None


def _is_mfa(mfa: object) -> bool:
    return type(mfa) is tuple and len(mfa) == 3 and type(mfa[2]) is list


async def _spawn(body: _Body, dist: Distribution) -> Pid:
    """Start the task, linked to the supervisor (the calling process)."""
    if body[0] == "reply":
        owner_pid = _owner_pid(body[1])
        assert owner_pid is not None
        return spawn_link(_reply, dist, owner_pid, body[2])
    return spawn_link(_invoke, dist, body[1])


async def _reply(dist: Distribution, owner: Pid, monitored: bool) -> None:
    """A task its owner awaits: wait for the owner's message, run it, send the result."""
    mref = monitor(owner) if monitored else None

    def _wanted(msg: object) -> bool:
        if type(msg) is tuple:
            return len(msg) == 5 and msg[0] == owner and _is_mfa(msg[4])
        return type(msg) is Down and msg.ref == mref

    try:
        msg = await receive(_REF_TIMEOUT if monitored else None, _wanted)
    except TimeoutError:
        raise Exit("timeout") from None
    if type(msg) is Down:
        raise Exit(("shutdown", msg.reason))
    assert type(msg) is tuple
    _, ref, reply_to, _callers, mfa = msg
    if mref is not None:
        demonitor(mref, flush=True)
    result = (ref, await _invoke(dist, mfa))
    if not encodes(result):
        raise Exit(((_PYTHON, "TypeError", f"the result of {_show_mfa(mfa)} cannot be sent"), []))
    _send(dist, reply_to, result)


def _send(dist: Distribution, to: object, msg: object) -> None:
    """Send to the owner's pid, or to the alias of its monitor (ALIAS_SEND)."""
    if type(to) is Ref:
        if to._node_name != dist.name:
            dist.connection(to._node_name).send((ALIAS_SEND, self_process(), to), msg)
        return
    if isinstance(to, Pid):
        self_process().rt.route_send(to, msg)


async def _invoke(dist: Distribution, mfa: object) -> object:
    """Run `M:F(A)`; a failure exits as an Elixir task's does: `{Reason, Stack}`."""
    assert type(mfa) is tuple
    module, function, args = mfa
    try:
        return await apply(dist, module, function, args)
    except Failure as exc:
        raise Exit((exc.reason, exc.stack)) from None
    except RemoteThrow as exc:
        raise Exit(((_NOCATCH, exc.reason), stack_of(exc.__traceback__))) from None
    except RemoteError as exc:
        raise Exit((exc.reason, exc.stack)) from None
    except RemoteExit as exc:
        raise Exit(exc.reason) from None
    except Exit:
        raise
    except Exception as exc:
        raise Exit(python_error(exc)) from None


def _show_mfa(mfa: tuple[object, ...]) -> str:
    return f"{mfa[0]}:{mfa[1]}/{len(mfa[2]) if type(mfa[2]) is list else '?'}"


FOREIGN_STARTS["start_task"] = start_task

__all__ = ["start_task"]
