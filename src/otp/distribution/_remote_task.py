"""Tasks on other nodes: `otp.Task.async_(fn, *args, node="b@h")`.

The owner's node sends a spawn request (with link and monitor, ReqId = the
task's ref) whose process runs the task body of `_behaviours/_task_remote.py`:
it computes `fn(*args)` and sends `(ref, value)` to the owner, as a local
task does, and the monitor's exit tells how it ended. Each such task has a
record with its connection (`Connection.tasks`, by ref), so that the
owner's `Task` learns both without a `receive`:

- `(ref, value)` arriving for the owner settles the task `("ok", value)`,
  and is queued in the owner's mailbox too (Elixir's shape; `await_` takes
  it out again);
- the monitor's DOWN settles it `("exit", reason)` (ignored once ok), and
  is delivered as any monitor's;
- a lost connection settles it `("exit", "noconnection")`; the link and the
  monitor fire as for any remote process.

When the owner gives up on a task (a timeout of `await_`, a stream closed
early) the record turns *dropping*: a result still on its way and the
monitor's DOWN are swallowed, not queued, as a local task killed at that
moment could send nothing more; the DOWN ends the record. A task let go
before its spawn reply is unlinked and killed when the reply comes.
A spawn that fails (no connection, or the node refuses it) gives what
Erlang's `spawn_request` with link and monitor gives: a pid that is not
alive, a Down and a linked exit signal with the error as reason.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .._behaviours._task_remote import run_remote
from .._errors import Exit
from .._runtime._ids import Pid, Ref
from .._runtime._messages import Down
from .._runtime._process import Process
from .._runtime._terms import Atom
from ._spawn import request
from ._spawn_targets import Failure, add_special, allowed, refuse, resolve

if TYPE_CHECKING:
    from .._runtime._node import TaskSink
    from ._connection import Connection
    from ._node import Distribution
    from ._spawn import Spawning


class RemoteTask:
    """The owner's record of one task on another node (the module docstring)."""

    __slots__ = ("conn", "dropping", "link", "owner", "ref", "sink")

    def __init__(self, spawning: Spawning, owner: Process, sink: TaskSink, link: bool) -> None:
        self.conn = spawning.conn
        self.ref = spawning.ref
        self.owner = owner
        self.sink = sink
        self.link = link
        self.dropping = False

    def __repr__(self) -> str:
        state = "dropping" if self.dropping else "running"
        return f"<RemoteTask {self.ref} on {self.conn.peer!r} {state}>"

    # -- what the connection tells ------------------------------------------------

    def result(self, value: object) -> bool:
        """`(ref, value)` came for the owner: True to queue it in the mailbox as well."""
        if self.dropping:
            return False
        self.sink.settle(("ok", value))
        return True

    def down(self, reason: object) -> bool:
        """The monitor's exit (the record is over): True to deliver the Down."""
        if self.dropping:
            self._forget_monitor()
            return False
        self.sink.settle(("exit", reason))
        return True

    def lost(self) -> None:
        """The connection is gone: the link and monitor fire, unless let go."""
        if self.dropping:
            self._forget_monitor()
        else:
            self.sink.settle(("exit", "noconnection"))

    def _forget_monitor(self) -> None:
        self.conn.monitors.pop(self.ref, None)
        monitors = self.owner.monitors
        if monitors:
            monitors.pop(self.ref, None)

    # -- the owner's side -----------------------------------------------------------

    def spawned(self, fut: asyncio.Future[tuple[Pid, Ref | None]]) -> None:
        """The spawn reply (or its failure) arrived."""
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self._failed(exc)
            return
        pid = fut.result()[0]
        self.sink.spawned(pid)
        owner = self.owner
        if not owner.alive:
            self.conn.tasks.pop(self.ref, None)  # the reply dropped the monitor: no DOWN
        elif self.dropping:
            # Let go before the reply (`Task.await_(task, timeout=0)`): unlink,
            # and kill it; its DOWN then ends the record.
            owner.remove_link(pid)
            self.conn.links.discard((owner, pid))
            self.conn.send_exit(owner, pid, "kill", False)

    def _failed(self, exc: BaseException) -> None:
        self.conn.tasks.pop(self.ref, None)
        reason = exc.reason if isinstance(exc, Exit) else "system_limit"
        pid = self.conn.dist.pid_hook(self.conn.peer, 0, 0, 0)
        self.sink.spawned(pid)
        if self.dropping:
            return
        self.sink.settle(("exit", reason))
        owner = self.owner
        if owner.alive:
            owner.enqueue(Down(self.ref, pid, reason))
            if self.link:
                owner.exit_signal(pid, reason, True)

    def let_go(self, kill: bool) -> None:
        """The owner is done with the task; with `kill`, the owner kills it too."""
        if kill:
            self.dropping = True  # its DOWN, still to come, ends the record
        else:
            self.conn.tasks.pop(self.ref, None)  # over: the owner drops its monitor


async def _run_remote(
    dist: Distribution,
    owner: Pid,
    ref: Ref,
    fn: object,
    args: object,
    chunked: object,
) -> None:
    """`run_remote` of another node's task, here: `fn` resolved under this node's `rpc=`.

    A function by name is checked against the allow-list as any spawn's
    target is; a pickled callable runs only with `pickle=True` and
    `rpc="*"`, as `erlang:apply/2` of one does.
    """
    if type(fn) is tuple and len(fn) == 2:
        target = resolve(dist, fn[0], fn[1], [])
    elif not dist.options.pickle or not allowed(dist, "*"):
        raise refuse(dist, Atom("pickle"), Atom("apply"), [])
    else:
        target = fn  # type: ignore[assignment]
    if type(args) is not tuple or not callable(target):
        raise Failure(Atom("badarg"), [])
    await run_remote(owner, ref, target, args, chunked is True)


add_special("otp._behaviours._task_remote", "run_remote", 5, _run_remote)


def spawn_task(
    dist: Distribution,
    node: str,
    body: object,
    args: tuple[object, ...],
    owner: Process,
    ref: Ref,
    link: bool,
    sink: TaskSink,
) -> RemoteTask:
    """Start `body(*args)` on `node` as a task of `owner` tagged `ref` (module docstring)."""
    spawning = request(dist, node, body, args, owner, link, True, ref=ref)
    task = RemoteTask(spawning, owner, sink, link)
    conn: Connection = spawning.conn
    if not spawning.fut.done():
        conn.tasks[ref] = task
    spawning.fut.add_done_callback(task.spawned)
    return task


__all__ = ["RemoteTask", "spawn_task"]
