"""Links, monitors, trapping exits and exit signals."""

from __future__ import annotations

from threading import get_ident

from .._errors import Exit, NoProc
from ._ids import Pid, Ref
from ._messages import Down, Exited
from ._names import noproc, resolve
from ._process import Process, is_reason
from ._repr import show
from ._scheduler import current_process, off_loop, self_process


def link(pid: Pid) -> None:
    """Link the calling process and `pid`: when either exits, the other gets an exit signal.

    Raises:
        NoProc: `pid` is dead and the caller does not trap exits (a trapping
            caller receives `Exited(pid, "noproc")` instead).
    """
    proc = self_process("otp.link")
    if not isinstance(pid, Pid):
        raise TypeError(f"link needs a Pid; got {show(pid)} ({type(pid).__name__})")
    if pid is proc:
        return
    if not proc.rt.route_link(proc, pid):
        if proc.trap:
            proc.enqueue(Exited(pid, "noproc"))
        else:
            raise NoProc("noproc", f"link: {show(pid)} is not alive")


def unlink(pid: Pid) -> None:
    """Remove the link between the calling process and `pid`, if any."""
    proc = self_process("otp.unlink")
    proc.rt.route_unlink(proc, pid)


def monitor(target: object) -> Ref:
    """Monitor `target` (a pid or name): a `Down(ref, pid, reason)` arrives when it exits.

    Monitoring a dead process, or a name nobody holds, delivers
    `Down(ref, target, "noproc")` at once. Monitored by a registered name
    (local `"name"` or remote `("name", node)`), the process appears in the
    `Down` as `(name, node)`, as in Erlang.
    """
    proc = self_process("otp.monitor")
    node = proc.rt
    ref = node.make_ref()
    if type(target) is tuple and len(target) == 2 and target[1] != node.name:
        # A name on another node: that node watches the name for us, and the
        # Down names the process as (name, node), as in Erlang.
        if proc.monitors is None:
            proc.monitors = {}
        proc.monitors[ref] = target  # type: ignore[assignment]
        node.remote().monitor(target, proc, ref)
        return ref
    pid = resolve(node, target, "monitor")
    # Monitored by a registered name, the process is `(name, node)` in its
    # Down, as Erlang's {'DOWN', Ref, process, {Name, Node}, Reason}.
    as_ = (target, node.name) if isinstance(target, str) else target
    if pid is None:
        if proc.monitors is None:
            proc.monitors = {}
        proc.monitors[ref] = proc
        proc.deliver_down(ref, as_, "noproc")
        return ref
    node.route_monitor(proc, pid, ref, pid if isinstance(target, Pid) else as_)
    return ref


def demonitor(ref: Ref, flush: bool = False) -> bool:
    """Stop the monitor `ref`; with `flush=True` also drop its `Down` if already queued.

    Returns False when the monitor was not active (already fired or removed).
    """
    proc = self_process("otp.demonitor")
    target = proc.monitors.pop(ref, None) if proc.monitors else None
    if target is not None:
        proc.rt.route_demonitor(target, ref)
    if flush:
        flush_down(proc, ref)
    return target is not None


def flush_down(proc: Process, ref: Ref) -> None:
    """Drop the `Down` of monitor `ref` from `proc`'s mailbox, if it is there."""
    mb = proc.mailbox
    if not mb:
        return
    for i, msg in enumerate(mb):
        if type(msg) is Down and msg.ref == ref:
            del mb[i]
            return


def trap_exit(flag: bool) -> bool:
    """Turn exit trapping on or off for the calling process; return the previous value.

    A trapping process receives exit signals as `Exited(pid, reason)`
    messages instead of dying (except `kill` sent with `otp.exit`).
    """
    proc = self_process("otp.trap_exit")
    old = proc.trap
    proc.trap = bool(flag)
    return old


def exit(pid: Pid, reason: object) -> None:  # OTP's name
    """Send an exit signal with `reason` to `pid` (Erlang's `exit/2`).

    `"normal"` is ignored by a process that does not trap exits; `"kill"`
    cannot be trapped and ends the target with reason `"killed"`; anything
    else ends a non-trapping target with that reason. Sent to the calling
    process itself, a signal that ends it raises `otp.Exit` right here.
    """
    caller = current_process.get()
    if not isinstance(pid, Pid):
        raise TypeError(f"exit needs a Pid; got {show(pid)} ({type(pid).__name__})")
    if caller is not None and caller.rt.loop_thread != get_ident():
        raise off_loop("otp.exit", caller.rt, caller)
    if caller is not None and pid is caller and not caller.trap:
        if is_reason(reason, "kill"):
            raise Exit("killed")
        raise Exit(reason)
    if caller is None:
        if not isinstance(pid, Process):
            raise noproc(pid, "exit to")
        if pid.rt.loop_thread != get_ident():
            raise off_loop("otp.exit", pid.rt)
        if is_reason(reason, "normal") and not pid.trap:
            return  # from outside any process: ignored, as from another process
        pid.exit_signal(pid, reason, False)
        return
    caller.rt.route_exit(pid, caller, reason, False)


__all__ = ["demonitor", "exit", "link", "monitor", "trap_exit", "unlink"]
