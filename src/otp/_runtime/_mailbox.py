"""Sending messages and receiving them, selectively or not."""

from __future__ import annotations

from collections.abc import Callable
from threading import get_ident

from ._call_timeouts import check_timeout
from ._messages import Global
from ._names import global_names, noproc, resolve
from ._process import Process
from ._scheduler import current_node, current_process, off_loop, self_process


def send(dest: object, msg: object) -> None:
    """Send `msg` to `dest`: a pid, a registered name, `otp.Via(...)` or `(name, node)`.

    Sending to a dead pid silently drops the message, as in Erlang.
    Messages from one sender to one receiver arrive in the order sent.

    Raises:
        NoProc: `dest` is a name that no process holds.
    """
    if isinstance(dest, Process):
        if dest.rt.loop_thread != get_ident():  # a thread: otp.from_thread.send
            raise off_loop("otp.send", dest.rt, current_process.get())
        dest.enqueue(msg)
        return
    node = current_node("otp.send")
    if type(dest) is tuple and len(dest) == 2 and dest[1] != node.name:
        name, node_name = dest
        node.remote().send_name(name, node_name, msg)
        return
    pid = resolve(node, dest, "send")
    if pid is None:
        if isinstance(dest, Global) and global_names(node).send(dest.name, msg):
            return
        raise noproc(dest, "send to")
    node.route_send(pid, msg)


async def receive(
    timeout: float | None = None, match: Callable[[object], object] | None = None
) -> object:
    """Wait for the oldest message, or the oldest for which `match(msg)` is true.

    >>> import otp
    >>> async def main():
    ...     otp.send(otp.self(), "a")
    ...     otp.send(otp.self(), ("b", 1))
    ...     first = await otp.receive(match=lambda m: isinstance(m, tuple))
    ...     return first, await otp.receive()
    >>> otp.run(main)
    (('b', 1), 'a')

    Messages that do not match stay queued in order. Waits at most
    `timeout` seconds (None: forever; 0: only look), then raises the builtin
    `TimeoutError`. Cancelling the caller leaves every message queued.

    Raises:
        NotInProcess: called outside an otp process, or from another thread.
        TimeoutError: no (matching) message arrived in time.
    """
    proc = self_process("otp.receive")
    if timeout is not None:
        check_timeout(timeout, "otp.receive")
    mb = proc.mailbox
    if match is None and mb:
        return mb.popleft()
    return await _wait(proc, timeout, match)


def _take(proc: Process, match: Callable[[object], object], start: int) -> tuple[bool, object, int]:
    """Scan the mailbox from `start` for a match: (found, message, next start)."""
    mb = proc.mailbox
    if not mb:
        return False, None, 0
    for i in range(start, len(mb)):
        msg = mb[i]
        if match(msg):
            del mb[i]
            return True, msg, i
    return False, None, len(mb)


async def _wait(
    proc: Process, timeout: float | None, match: Callable[[object], object] | None
) -> object:
    loop = proc.rt.loop
    scanned = 0
    handle = None
    expired = [False]
    try:
        while True:
            if match is None:
                if proc.mailbox:
                    return proc.mailbox.popleft()
            else:
                found, msg, scanned = _take(proc, match, scanned)
                if found:
                    return msg
            if expired[0] or (timeout is not None and timeout <= 0):
                raise TimeoutError(f"receive: no matching message within {timeout} s")
            waiter = proc.waiter = loop.create_future()
            if timeout is not None and handle is None:
                handle = loop.call_later(timeout, _expire, proc, expired)
            await waiter
    finally:
        if handle is not None:
            handle.cancel()
        if proc.waiter is not None and proc.alive:
            proc.waiter = None


def _expire(proc: Process, expired: list[bool]) -> None:
    expired[0] = True
    w = proc.waiter
    if w is not None:
        proc.waiter = None
        if not w.done():
            w.set_result(None)
