"""`start_link` and `stop`, and the control process each peer has in its starter.

The control process (`peer.pid`) owns the worker's OS process. It traps
exits and is linked to the caller of `start_link`, and it goes through
two phases:

1. Starting: it launches the worker (`WorkerProcess.launch`) and waits for
   the worker's ready message, which comes over the worker's own
   connection to this node (so that connection is up when it arrives).
   The worker exiting first, or no message within `timeout`, makes
   `start_link` raise `StartError` (the control process then ends with
   reason `normal`, so the caller's link to it does nothing).
2. Serving: `start_link` has returned the `Peer`. The worker's exit, or
   `NodeDown` for it, ends the control process with `"noconnection"`
   (the caller gets that exit signal, as for any process of a lost
   node); an exit signal (the caller or a supervisor stopping it) stops
   the worker gracefully and ends with the signal's reason; `stop`'s
   request stops the worker and ends with `normal`.

Whatever ends it, even a `kill`, the worker's OS process is killed on the
way out if it still runs (`WorkerProcess.close`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final, final

from .._errors import Exit, StartError
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import receive, send
from .._runtime._messages import Down, Exited
from .._runtime._repr import show
from .._runtime._scheduler import self_process
from .._runtime._signals import monitor, trap_exit, unlink
from .._runtime._spawning import spawn_link
from ..distribution._node import NodeDown
from ..distribution._nodes import monitor_node
from ._logs import Output
from ._os_process import WorkerProcess
from ._setup import READY, Setup, prepare

logger = logging.getLogger("otp.peer")

#: Seconds a worker has to stop gracefully before it is killed.
STOP_TIMEOUT: Final = 5.0
_STOP: Final = "$otp_peer_stop"
_EXITED: Final = ("$otp_peer_exited",)
_ABANDONED: Final = ("$otp_peer_abandoned",)


@final
@dataclass(frozen=True, slots=True, repr=False)
class Peer:
    """A worker node started by `otp.peer.start_link`.

    `node` is its name, `pid` its control process in this node (linked to
    the caller of `start_link`; it exits with `"noconnection"` when the
    worker is lost) and `os_pid` the worker's OS process id.
    """

    node: str
    pid: Pid
    os_pid: int

    def __repr__(self) -> str:
        return f"<Peer {self.node!r} os_pid={self.os_pid} control={self.pid!r}>"


async def start_link(
    name: str | None = None,
    *,
    cookie: str | None = None,
    args: tuple[str, ...] | list[str] = (),
    env: dict[str, str] | None = None,
    timeout: float | None = 15.0,
) -> Peer:
    """Start a worker node in a new OS process, linked to the caller (see `otp.peer`)."""
    setup = prepare(name, cookie, args, env, timeout)
    started: asyncio.Future[Peer] = asyncio.get_running_loop().create_future()
    spawn_link(control, setup, started, self_process())
    return await started


async def stop(peer: Peer) -> None:
    """Stop `peer` and wait until its OS process has exited (see `otp.peer.stop`)."""
    unlink(peer.pid)
    ref = monitor(peer.pid)
    send(peer.pid, (_STOP, ref))
    await receive(match=lambda msg: isinstance(msg, Down) and msg.ref == ref)


async def control(setup: Setup, started: asyncio.Future[Peer], caller: Pid) -> None:
    """The control process of one peer (see the module docstring).

    A failed start unlinks it from `caller` before it exits: the caller
    hears of the failure from `start_link` alone, not also as an exit signal.
    """
    trap_exit(True)
    me = self_process()
    output = Output(setup.name)
    config = setup.config.copy()
    config["control"] = (me._node_name, me._id, me._serial, me._creation)
    try:
        worker = await WorkerProcess.launch(setup, config, output)
    except OSError as exc:
        unlink(caller)
        _fail(started, StartError(exc, f"cannot start peer node {setup.name!r}: {exc}"))
        return
    try:
        worker.done.add_done_callback(lambda _: me.enqueue(_EXITED))
        started.add_done_callback(lambda f: me.enqueue(_ABANDONED) if f.cancelled() else None)
        failure = await _starting(setup, worker, started)
        if failure is not None:
            unlink(caller)
            _fail(started, failure)
            return
        monitor_node(setup.name)
        started.set_result(Peer(setup.name, me, worker.os_pid))
        reason = await _serving(setup.name, worker)
    finally:
        worker.close()
    if reason != "normal":
        raise Exit(reason)


def _fail(started: asyncio.Future[Peer], error: StartError) -> None:
    if not started.done():  # not abandoned by a caller that died or was cancelled
        started.set_exception(error)


async def _starting(
    setup: Setup, worker: WorkerProcess, started: asyncio.Future[Peer]
) -> StartError | None:
    """Wait for the worker's ready message: None, or why it did not come."""
    name, token, timeout = setup.name, setup.config["token"], setup.timeout
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            msg = await receive(timeout=left)
        except TimeoutError:
            worker.kill()
            await asyncio.shield(worker.done)
            return StartError(
                "timeout",
                f"peer node {name!r} was not ready within {timeout} s and was killed "
                f"(pass a larger timeout= to start_link to wait longer)"
                f"{worker.output.tail_text()}",
            )
        if type(msg) is tuple and len(msg) == 3 and msg[0] == READY and msg[1] == token:
            return None
        if msg == _EXITED:
            return StartError(
                ("exited", worker.returncode),
                f"peer node {name!r} exited with status {worker.returncode} before it "
                f"was ready{worker.output.tail_text()}",
            )
        if isinstance(msg, Exited):
            # The caller (or another linked process) exited while the peer started.
            worker.kill()
            _fail(started, StartError(msg.reason, f"exit signal {show(msg.reason)}"))
            raise Exit(msg.reason)
        if msg == _ABANDONED:  # the caller was cancelled while it waited
            worker.kill()
            return StartError("cancelled", "start_link was cancelled")


async def _serving(name: str, worker: WorkerProcess) -> object:
    """Serve until the worker is lost or asked to stop; the control process's exit reason."""
    while True:
        msg = await receive()
        if msg == _EXITED or msg == NodeDown(name):
            if msg != _EXITED:
                worker.kill()  # the connection dropped: the worker is of no use
                await asyncio.shield(worker.done)
            logger.warning(
                "[%s] peer node lost: its OS process %d exited with status %s",
                name,
                worker.os_pid,
                worker.returncode,
                extra={"otp_node": name},
            )
            return "noconnection"
        if isinstance(msg, Exited):
            await worker.stop(STOP_TIMEOUT)
            return msg.reason
        if type(msg) is tuple and len(msg) == 2 and msg[0] == _STOP and isinstance(msg[1], Ref):
            await worker.stop(STOP_TIMEOUT)
            return "normal"


__all__ = ["STOP_TIMEOUT", "Peer", "control", "start_link", "stop"]
