"""The control messages of the distribution protocol, and what this node does on each.

Every packet after the handshake holds a control tuple `{Op, ...}` and, for
some operations, a payload term. The operations this node handles: LINK 1,
SEND 2, EXIT 3, REG_SEND 6, EXIT2 8, MONITOR_P 19, DEMONITOR_P 20,
MONITOR_P_EXIT 21, SEND_SENDER 22, PAYLOAD_EXIT 24, PAYLOAD_EXIT2 26,
PAYLOAD_MONITOR_P_EXIT 28, SPAWN_REQUEST 29, SPAWN_REPLY 31 (added by
`_spawned.py` and `_spawn.py`), ALIAS_SEND 33, UNLINK_ID 35, UNLINK_ID_ACK 36,
and the `_TT` forms with a trace token, which is ignored. `HANDLERS` maps
each to its function; the connection (`_connection.py`) looks them up.

Also here: the shapes that cross the wire with them (exit reasons, call
tags with aliases, the exception a failed remote call raises).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .._errors import Exit, NoConnection, NoProc
from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import safe_repr
from .._runtime._terms import Atom, ImproperList
from .._runtime._wire import wire_receiver
from ._term import encode

if TYPE_CHECKING:
    from ._connection import Connection

_EMPTY: Final = Atom("")
_ALIAS: Final = Atom("alias")
_GEN_CAST: Final = Atom("$gen_cast")

LINK, SEND, EXIT, REG_SEND, EXIT2 = 1, 2, 3, 6, 8
MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT, SEND_SENDER = 19, 20, 21, 22
PAYLOAD_EXIT, PAYLOAD_EXIT2, PAYLOAD_MONITOR_P_EXIT = 24, 26, 28
ALIAS_SEND, UNLINK_ID, UNLINK_ID_ACK = 33, 35, 36


def wire_reason(reason: object) -> object:
    """A Python exit reason in its Erlang form: `"normal"` becomes the atom `normal`.

    >>> wire_reason("normal"), wire_reason(("shutdown", "x"))
    (Atom('normal'), (Atom('shutdown'), 'x'))
    """
    if type(reason) is str:
        return Atom(reason)
    if type(reason) is tuple and len(reason) == 2 and type(reason[0]) is str:
        return (Atom(reason[0]), reason[1])
    return reason


def alias_of(tag: object) -> Ref | None:
    """The alias in a call tag, as `gen:reply/2` finds it; else None.

    The tag is `[alias | Ref]` (a call with an alias), `[[alias | Ref] | _]`
    (the same, with more after it), or anything else, which the reply goes
    back with, to the caller's pid (OTP's plain `{Pid, Ref}` calls, and any
    tag a peer chose: `[]`, `[alias, x | Ref]`...).

    >>> from otp._runtime._ids import _new_ref
    >>> ref = _new_ref("a@h", 1, (7,))
    >>> alias_of(ImproperList([_ALIAS], ref)) is ref, alias_of([ImproperList([_ALIAS], ref)]) is ref
    (True, True)
    >>> alias_of([]), alias_of(ref), alias_of(ImproperList([_ALIAS, 1], ref))
    (None, None, None)
    """
    first: object
    if type(tag) is ImproperList:
        alias = alias_ref(tag)
        if alias is not None:
            return alias
        first = tag.items[0]
    elif type(tag) is list and tag:
        first = tag[0]
    else:
        return None
    return alias_ref(first) if type(first) is ImproperList else None


def alias_ref(tag: ImproperList) -> Ref | None:
    """The Ref of `[alias | Ref]`; None for any other improper list."""
    tail, items = tag.tail, tag.items
    if type(tail) is Ref and len(items) == 1 and type(items[0]) is Atom and items[0] == _ALIAS:
        return tail
    return None


def encodes(term: object) -> bool:
    try:
        encode(term)
    except (TypeError, ValueError):
        return False
    return True


def call_failure(reason: object, target: object, node: str) -> Exit:
    """The exception a remote call raises when its monitor fires with `reason`."""
    if isinstance(reason, str) and reason == "noproc":
        return NoProc(
            "noproc",
            f"call to {safe_repr(target)} failed: no such process on node {node!r}. Start it "
            f"first, or check the name and the node.",
        )
    if isinstance(reason, str) and reason == "noconnection":
        return NoConnection(
            "noconnection",
            f"call to {safe_repr(target)} failed: the connection to {node!r} was lost",
        )
    return Exit(
        reason, f"the server {safe_repr(target)} on {node!r} exited with {safe_repr(reason)}"
    )


# -- handlers of incoming control messages -------------------------------------------

Handler = Callable[["Connection", tuple[object, ...], object], None]
"""`handler(connection, control, payload)`: act on one control message."""


def _on_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    c.deliver(ctl[2], msg)


def _on_reg_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    name = ctl[3]
    if isinstance(name, str):
        if type(msg) is tuple and len(msg) == 2 and msg[0] == _GEN_CAST:
            # GenServer.cast({name, node}, ...), the bulk of a busy link's
            # traffic: straight to the receiver GenServer registered for it.
            proc = c.dist.node.names.get(name)
            receiver = wire_receiver(_GEN_CAST)
            if proc is not None and receiver is not None and receiver(proc, msg, c.replier):
                return
        c.deliver_named(name, msg)


def _on_alias_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    call = c.calls.get(ctl[2]) if type(ctl[2]) is Ref else None
    if call is not None and not call[0].done() and type(msg) is tuple and len(msg) == 2:
        call[0].set_result(msg[1])
    # Otherwise a late reply to a call that is over: dropped, as its alias is gone.


def _on_link(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    sender, to = ctl[1], ctl[2]
    if not isinstance(sender, Pid):
        return
    if isinstance(to, Process) and to.alive:
        if (to, sender) in c.unlinking:
            return  # our unlink is not acknowledged yet: it wins
        to.add_link(sender)
        c.links.add((to, sender))
    else:
        c.send_exit(to if isinstance(to, Pid) else sender, sender, "noproc", True)


def _exit(c: Connection, sender: object, to: object, reason: object, linked: bool) -> None:
    if not isinstance(to, Process) or not isinstance(sender, Pid):
        return
    if linked:
        if (to, sender) not in c.links:
            return  # unlinked meanwhile
        c.links.discard((to, sender))
        to.remove_link(sender)
    to.exit_signal(sender, reason, linked)


def _on_exit(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _exit(c, ctl[1], ctl[2], ctl[-1], True)


def _on_payload_exit(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _exit(c, ctl[1], ctl[2], reason, True)


def _on_exit2(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _exit(c, ctl[1], ctl[2], ctl[-1], False)


def _on_payload_exit2(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _exit(c, ctl[1], ctl[2], reason, False)


def _on_monitor(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    watcher, target, ref = ctl[1], ctl[2], ctl[3]
    if not isinstance(watcher, Pid) or type(ref) is not Ref:
        return
    proc = c.dist.node.names.get(target) if isinstance(target, str) else target
    if isinstance(proc, Process) and proc.alive:
        proc.add_watcher(ref, watcher)
        c.watchers[ref] = (proc, watcher, target)
    elif not (isinstance(target, str) and c.dist.is_system_name(target)):
        c.send_down(target, watcher, ref, "noproc")


def _on_demonitor(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    ref = ctl[3]
    if not isinstance(ref, Ref):
        return
    record = c.watchers.pop(ref, None)
    if record is not None:
        record[0].remove_watcher(ref)


def _down(c: Connection, target: object, to: object, ref: object, reason: object) -> None:
    if type(ref) is not Ref:
        return
    spawning = c.spawns.pop(ref, None)
    if spawning is not None:  # the result of an erpc call (`_erpc.py`)
        spawning.down(reason)
        return
    call = c.calls.pop(ref, None)
    if call is not None:
        fut, called = call
        if not fut.done():
            fut.set_exception(call_failure(reason, called, c.peer))
        return
    task = c.tasks.pop(ref, None) if c.tasks else None
    if task is not None and not task.down(reason):
        return  # a task let go: its Down is swallowed (`_remote_task.py`)
    record = c.monitors.pop(ref, None)
    if record is not None:
        record[0].deliver_down(ref, record[1], reason)


def _on_monitor_exit(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _down(c, ctl[1], ctl[2], ctl[3], ctl[4])


def _on_payload_monitor_exit(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _down(c, ctl[1], ctl[2], ctl[3], reason)


def _on_unlink_id(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    id_, sender, to = ctl[1], ctl[2], ctl[3]
    if isinstance(to, Process) and isinstance(sender, Pid):
        to.remove_link(sender)
        c.links.discard((to, sender))
    c.send((UNLINK_ID_ACK, id_, to, sender))


def _on_unlink_id_ack(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    id_, sender, to = ctl[1], ctl[2], ctl[3]
    if isinstance(to, Process) and isinstance(sender, Pid):
        key = (to, sender)
        if c.unlinking.get(key) == id_:
            del c.unlinking[key]


def _drop_token(handler: Handler, token_at: int) -> Handler:
    """The handler of a `_TT` form: the same message with a trace token at `token_at`."""

    def without_token(c: Connection, ctl: tuple[object, ...], payload: object) -> None:
        handler(c, ctl[:token_at] + ctl[token_at + 1 :], payload)

    return without_token


#: What this node does on each control message, by its number. Modules with
#: control messages of their own (remote spawn) add theirs when imported.
HANDLERS: dict[int, Handler] = {
    LINK: _on_link,
    SEND: _on_send,
    EXIT: _on_exit,
    REG_SEND: _on_reg_send,
    EXIT2: _on_exit2,
    MONITOR_P: _on_monitor,
    DEMONITOR_P: _on_demonitor,
    MONITOR_P_EXIT: _on_monitor_exit,
    SEND_SENDER: _on_send,
    PAYLOAD_EXIT: _on_payload_exit,
    PAYLOAD_EXIT2: _on_payload_exit2,
    PAYLOAD_MONITOR_P_EXIT: _on_payload_monitor_exit,
    ALIAS_SEND: _on_alias_send,
    UNLINK_ID: _on_unlink_id,
    UNLINK_ID_ACK: _on_unlink_id_ack,
    12: _drop_token(_on_send, 3),  # SEND_TT
    13: _drop_token(_on_exit, 3),  # EXIT_TT
    16: _drop_token(_on_reg_send, 4),  # REG_SEND_TT
    18: _drop_token(_on_exit2, 3),  # EXIT2_TT
    23: _drop_token(_on_send, 3),  # SEND_SENDER_TT
    25: _drop_token(_on_payload_exit, 3),  # PAYLOAD_EXIT_TT
    27: _drop_token(_on_payload_exit2, 3),  # PAYLOAD_EXIT2_TT
    34: _drop_token(_on_alias_send, 3),  # ALIAS_SEND_TT
}

__all__ = [
    "HANDLERS",
    "Handler",
    "alias_of",
    "alias_ref",
    "call_failure",
    "encodes",
    "wire_reason",
]
