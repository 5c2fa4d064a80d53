"""The warning for a long mailbox: once at `Node(mailbox_warning=...)`, then at each tenfold.

A process whose mailbox grows without bound gets slower (each receive that
scans the mailbox scans more), holds more memory, and ends the node when
memory runs out; on the BEAM the usual first sign is a process with a
million queued messages in `observer`. Here the node says so in the log
when a mailbox reaches the threshold (10,000 messages by default), and
again at 100,000, 1,000,000 and so on: once per level per process.

Every enqueue path tests `len(mailbox) >= proc.warn_at`: one compare
against the process's next level, which starts at the node's
`mailbox_warning_at` (a huge number when the warning is off) and which
`check` moves up tenfold once it has warned. A per-process number rather
than a node-wide one: a process that stays past 10,000 messages (a burst
of casts) must not pay for a look-up on each further message.

The direct appends of `otp.cast` and `otp.call` to a server whose `run` is
already due (its batch runs later in this loop turn) skip even that
compare, which cost 4% of a cast under callgrind: `ServerProcess.run`
checks the length once before it handles the batch, so a burst of casts
in one step is reported before any of it is handled, with its full length.

The report counts the queued messages by kind (`message_kind`: the first
element of a tuple that starts with a str, "call <kind>" for a GenServer
call, ...): scanning the oldest `SCANNED` messages is fine, since it
happens once per level.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._repr import show
from ._telemetry import emit

if TYPE_CHECKING:
    from ._node import Node
    from ._process import Process

logger = logging.getLogger("otp")

#: The default of `Node(mailbox_warning=...)`.
DEFAULT_MAILBOX_WARNING = 10_000
#: `node.mailbox_warning_at` when the warning is off: no mailbox gets there.
NEVER = sys.maxsize
#: Messages a warning counts by kind, oldest first: the cost of a warning is
#: bounded, however long the burst that reached a level.
SCANNED = 10_000
#: Kinds of message a warning lists, most frequent first.
TOP_KINDS = 5

LONG = ("otp", "mailbox", "long")


def check_mailbox_warning(value: object) -> int | None:
    """`value` if it is a valid `mailbox_warning`, else a ValueError saying what to pass."""
    if value is None or (type(value) is int and value >= 1):
        return value
    raise ValueError(
        f"mailbox_warning must be a number of queued messages >= 1 at which the node "
        f"warns (default 10_000; again at each tenfold), or None to turn the warning "
        f"off; got {show(value)}"
    )


def threshold(mailbox_warning: int | None) -> int:
    """The level a new process's mailbox is first compared with (`Process.warn_at`)."""
    return NEVER if mailbox_warning is None else mailbox_warning


def check(proc: Process, length: int) -> None:
    """The mailbox of `proc` holds `length >= proc.warn_at` messages: warn, move the level up."""
    node = proc.rt
    level = proc.warn_at
    if length < level or not proc.alive:
        return
    while level <= length:
        level *= 10
    proc.warn_at = level
    mailbox = proc.mailbox or ()
    kinds = Counter(_kinds(proc, itertools.islice(mailbox, SCANNED)))
    _warn(node, proc, length, kinds, level)
    if node.telemetry is not None:
        metadata: dict[str, object] = {
            "pid": proc,
            "name": proc.name,
            "behaviour": proc.behaviour,
            "kinds": dict(kinds.most_common()),
        }
        emit(node, LONG, {"length": length}, metadata)


def _kinds(proc: Process, mailbox: Iterable[object]) -> Iterable[str]:
    kind = proc.message_kind
    for msg in mailbox:
        try:
            yield kind(msg)
        except Exception:  # a report never fails
            yield type(msg).__name__


def message_kind(msg: object) -> str:
    """How a warning counts `msg`: a tuple's leading str, a short str itself, else its type.

    >>> message_kind(("bump", 1)), message_kind("tick"), message_kind(42)
    ('bump', 'tick', 'int')
    """
    if type(msg) is tuple and msg and isinstance(msg[0], str):
        return _short(msg[0])
    if isinstance(msg, str):
        return _short(msg)
    return type(msg).__name__


def _short(text: str) -> str:
    return text if len(text) <= 40 else "str"


def _warn(node: Node, proc: Process, length: int, kinds: Counter[str], level: int) -> None:
    who = proc.label()
    if proc.behaviour is not None:
        who += f" ({proc.behaviour})"
    top = ", ".join(f"{kind}: {n}" for kind, n in kinds.most_common(TOP_KINDS))
    if len(kinds) > TOP_KINDS:
        top += f", and {len(kinds) - TOP_KINDS} more kinds"
    if length > SCANNED:
        top = f"the oldest {SCANNED}: {top}"
    logger.warning(
        "Process %s has %d messages in its mailbox (%s): it receives messages "
        "faster than it handles them. Make it handle each message faster, shed load "
        "(refuse or drop work while it is behind), or spread the work over several "
        "processes (otp.PartitionSupervisor). Next warning at %d messages "
        "(Node(mailbox_warning=...) sets the first, None turns it off).",
        who,
        length,
        top,
        level,
    )


__all__ = [
    "DEFAULT_MAILBOX_WARNING",
    "check",
    "check_mailbox_warning",
    "message_kind",
    "threshold",
]
