"""Identifiers: `Pid`, `Ref` and `TimerRef`.

A `Pid` names a process on some node, as Erlang's pids do: the node's name,
a number and a serial, and the node's *creation* (which incarnation of the
node made it). Pids have identity semantics: each process has exactly one
`Pid` object, and the distribution layer interns remote pids, so `==`, `is`
and hashing are all the cheap built-in identity operations.
"""

from __future__ import annotations

import asyncio
from typing import Any, final


class Pid:
    """The identity of a process, local or remote.

    Users receive pids (from `spawn`, `start_link`, `self`, messages) but never
    build them.
    """

    __slots__ = ("__weakref__", "_creation", "_id", "_node_name", "_serial")

    _node_name: str
    _id: int
    _serial: int
    _creation: int

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError("otp.Pid has no public constructor: pids come from spawn, start, self")

    @property
    def node(self) -> str:
        """The name of the node this process lives on."""
        return self._node_name

    def _label(self) -> str:
        return f"<0.{self._id}.{self._serial}>"

    def __repr__(self) -> str:
        return f"<Pid {self._node_name}.{self._id}.{self._serial}>"

    def __str__(self) -> str:
        return self._label()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Pid):
            return NotImplemented
        return _order(self) < _order(other)

    def __copy__(self) -> Pid:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Pid:
        return self

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError(
            "a Pid cannot be pickled: it names a process on a running node; "
            "send it in a message instead"
        )


def _order(pid: Pid) -> tuple[str, int, int, int]:
    return (pid._node_name, pid._id, pid._serial, pid._creation)


def _new_remote_pid(node_name: str, id_: int, serial: int, creation: int) -> Pid:
    """Build a (non-interned) pid of another node; the distribution layer interns them."""
    pid = object.__new__(Pid)
    pid._node_name = node_name
    pid._id = id_
    pid._serial = serial
    pid._creation = creation
    return pid


@final
class Ref:
    """A unique reference (monitor references, call tags), compared by value.

    Refs are dictionary keys on every call and monitor (a decoded ref is a
    new object each time), so the hash is computed once, when the ref is
    made, and equality tests the cheapest fields first.
    """

    __slots__ = ("_creation", "_hash", "_ids", "_node_name")

    _creation: int
    _hash: int
    _ids: tuple[int, ...]
    _node_name: str

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError("otp.Ref has no public constructor")

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Ref
            and self._hash == other._hash
            and self._ids == other._ids
            and self._node_name == other._node_name
            and self._creation == other._creation
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return "#Ref<0." + ".".join(str(i) for i in reversed(self._ids)) + ">"


def _new_ref(node_name: str, creation: int, ids: tuple[int, ...]) -> Ref:
    """Build a ref (of this node or another); `ids` are its id words, lowest first."""
    ref = object.__new__(Ref)
    ref._node_name = node_name
    ref._creation = creation
    ref._ids = ids
    ref._hash = hash(ids)
    return ref


@final
class TimerRef:
    """The handle of a timer started by `send_after`; pass it to `cancel_timer`."""

    __slots__ = ("_deadline", "_handle", "_loop")

    _deadline: float
    _handle: object | None  # the pending timer (see _timers.py); None once fired or cancelled
    _loop: asyncio.AbstractEventLoop

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError("otp.TimerRef has no public constructor: use otp.send_after")

    def __repr__(self) -> str:
        state = "cancelled" if self._handle is None else f"due at {self._deadline:.3f}"
        return f"<TimerRef {state}>"


def _new_timer_ref(loop: asyncio.AbstractEventLoop, deadline: float) -> TimerRef:
    ref = object.__new__(TimerRef)
    ref._loop = loop
    ref._handle = None
    ref._deadline = deadline
    return ref
