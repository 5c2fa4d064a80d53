"""A message whose control decodes but whose payload does not: fail who waits, at once.

A peer can send a payload this node cannot decode: a pickle that does not
unpickle (or pickles are off), an atom that is not UTF-8, a term type this
node does not know. Dropping it silently would leave a caller waiting out
its whole timeout, so the connection hands it here (`undecodable_payload`):

- the reply to a call of ours (ALIAS_SEND to the call's alias, or a SEND of
  `{Tag, Reply}` whose tag is the call's): the call fails at once with
  `Undecodable`, an `otp.Exit` whose reason is `(undecodable, Description)`;
- a call `{'$gen_call', {Caller, Tag}, Request}` whose request does not
  decode, to a local process: the caller's monitor of the server ends with
  a DOWN whose reason is `{undecodable, Description}`, so its `gen:call`
  exits with that reason at once, as when a server dies during the call,
  while the server itself carries on (it never saw the request). A reply
  would be taken for the server's answer, an exit signal would kill the
  caller: the DOWN is what a call already knows as "this call failed";
- any other message to a local process: the process gets an
  `UndecodableMessage` (its sender, if known, and the description) instead.

Every case is logged at error level with the sender and the reason. Only
the header `{'$gen_call', {Pid, Tag}, _}` (or `{Tag, _}` of a reply) is
decoded, with the connection's own `Decoder`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final

from .._errors import Exit
from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import safe_repr
from .._runtime._terms import Atom, ImproperList
from ._control import alias_of, alias_ref
from ._term import DecodeError

if TYPE_CHECKING:
    from ._connection import Connection

logger = logging.getLogger("otp")

_VERSION: Final = 131
_SMALL_TUPLE: Final = 104
_GEN_CALL: Final = Atom("$gen_call")
UNDECODABLE: Final = Atom("undecodable")


class Undecodable(Exit):
    """The reply to a call could not be decoded: `.reason` is `("undecodable", why)`."""

    def __init__(self, reason: object = UNDECODABLE, message: str | None = None) -> None:
        super().__init__(reason, message)


@final
@dataclass(frozen=True)
class UndecodableMessage:
    """In a mailbox instead of a message from another node that could not be decoded.

    >>> UndecodableMessage(None, "an atom that is not UTF-8").description
    'an atom that is not UTF-8'
    """

    sender: Pid | None
    """The sending process, when the control message names it (not for a plain SEND)."""
    description: str
    """Why the message could not be decoded."""


def call_header(conn: Connection, data: bytes, at: int, end: int) -> tuple[Pid, object] | None:
    """`(caller, tag)` of a `{'$gen_call', {Caller, Tag}, Request}` at `data[at:end]`.

    Reads only the header, so the request may be undecodable; None when the
    term is not such a call (or its header does not decode either).
    """
    if end - at < 3 or data[at] != _VERSION or data[at + 1] != _SMALL_TUPLE or data[at + 2] != 3:
        return None
    try:
        label, pos = conn.decoder.decode_from(data, at + 3, version_byte=False)
        if label != _GEN_CALL or pos >= end:
            return None
        sender, pos = conn.decoder.decode_from(data, pos, version_byte=False)
    except DecodeError:
        return None
    if pos <= end and type(sender) is tuple and len(sender) == 2 and isinstance(sender[0], Pid):
        return sender[0], sender[1]
    return None


def reply_tag(conn: Connection, data: bytes, at: int, end: int) -> object:
    """The tag of a reply `{Tag, Reply}` at `data[at:end]`, or None."""
    if end - at < 3 or data[at] != _VERSION or data[at + 1] != _SMALL_TUPLE or data[at + 2] != 2:
        return None
    try:
        tag, pos = conn.decoder.decode_from(data, at + 3, version_byte=False)
    except DecodeError:
        return None
    return tag if pos <= end else None


def undecodable_payload(
    conn: Connection, control: object, data: bytes, at: int, end: int, error: DecodeError
) -> None:
    """Act on the message `control` whose payload `data[at:end]` did not decode (see above)."""
    why = str(error)
    if type(control) is not tuple or not control or type(control[0]) is not int:
        logger.error("Dropped a message from node %r that cannot be decoded: %s", conn.peer, why)
        return
    op = control[0]
    sender: object = None
    to: object = None
    if op in (2, 12):  # SEND, SEND_TT: no sender
        to = control[2] if len(control) > 2 else None
    elif op in (22, 23) and len(control) > 2:  # SEND_SENDER(_TT)
        sender, to = control[1], control[2]
    elif op in (6, 16) and len(control) > 3:  # REG_SEND(_TT)
        sender = control[1]
        to = conn.dist.node.names.get(control[3]) if isinstance(control[3], str) else None
    elif op in (33, 34) and len(control) > 2:  # ALIAS_SEND(_TT): a reply to a call of ours
        sender, to = control[1], control[2]
        if _fail_call(conn, to, why, sender):
            return
    logger.error(
        "A message from %s on node %r to %s cannot be decoded: %s",
        safe_repr(sender) if sender is not None else "a process",
        conn.peer,
        safe_repr(to) if to is not None else "a process that is gone",  # or an alias
        why,
    )
    if not isinstance(to, Process):
        return
    tag = reply_tag(conn, data, at, end)
    if tag is not None and _fail_call(conn, tag, why, sender):
        return
    header = call_header(conn, data, at, end)
    if header is not None and _refuse_call(conn, to, header[0], header[1], why):
        return
    if to.alive:
        to.enqueue(UndecodableMessage(sender if isinstance(sender, Pid) else None, why))


def _fail_call(conn: Connection, tag: object, why: str, sender: object) -> bool:
    """True if `tag` is that of a call of ours, which now fails with `Undecodable`."""
    ref = alias_ref(tag) if type(tag) is ImproperList else tag
    call = conn.calls.get(ref) if type(ref) is Ref else None
    if call is None:
        return False
    fut, called = call
    logger.error(
        "The reply of %s on node %r to a call cannot be decoded: %s",
        safe_repr(called),
        conn.peer,
        why,
    )
    if not fut.done():
        fut.set_exception(
            Undecodable(
                (UNDECODABLE, why),
                f"the reply of {safe_repr(called)} on node {conn.peer!r} cannot be decoded: "
                f"{why}. Send terms this node can decode (pickles need pickle=True).",
            )
        )
    return True


def _refuse_call(conn: Connection, server: Process, caller: Pid, tag: object, why: str) -> bool:
    """End the caller's monitor of `server` with `{undecodable, why}`; False if it has none."""
    alias = alias_of(tag)
    refs: list[Ref]
    if alias is not None and alias in conn.watchers:
        refs = [alias]
    else:  # a tag without an alias (e.g. multi_call's): the caller's one monitor of the server
        refs = [
            ref
            for ref, (proc, watcher, _) in conn.watchers.items()
            if proc is server and watcher == caller
        ]
        if len(refs) != 1:
            return False
    ref = refs[0]
    proc, watcher, target = conn.watchers.pop(ref)
    proc.remove_watcher(ref)
    conn.send_down(target, watcher, ref, (UNDECODABLE, why))
    return True


__all__ = ["Undecodable", "UndecodableMessage", "call_header", "reply_tag", "undecodable_payload"]
