"""A node started with `pickle=False`: no pickle in, no pickle out.

Receiving: the node's decoders keep `{'$otp_pickle', Bin}` and
`{'$otp_exception', Class, Message, Bin}` as the plain tuples they are
(`Decoder(allow_pickle=False)`): nothing a peer sends runs code on
unpickling.

Sending: a message, call or reply holding a Python value without an Erlang
form (an object of a class of your own, a NamedTuple, a set, inf...) is
refused with a TypeError naming the value, instead of being pickled: a
node that will not read pickles does not write them either, so a peer
never depends on them. Exit and `DOWN` reasons are the exception: an
exception that ends a process still goes as `{'$otp_exception', Class,
Message, Bin}` (Erlang reads its class and message), because a crash
cannot be refused. A tuple built by hand as `(Atom("$otp_pickle"), b"...")`
is plain data and is sent as it is.

>>> from otp.distribution._term import encode
>>> refuse_pickles({1, 2}, encode({1, 2}))
Traceback (most recent call last):
...
TypeError: this node was started with pickle=False, ... {1, 2} (set). ...
>>> refuse_pickles(("ok", [1.5]), encode(("ok", [1.5])))
"""

from __future__ import annotations

from typing import Final

from .._runtime._repr import safe_repr
from .._runtime._terms import FrozenList, FrozenMap, ImproperList
from ._term import encode

#: How a pickle starts inside an encoded term: `{'$otp_pickle', ...` or `{'$otp_exception', ...`.
_MARKS: Final = (b"\x68\x02\x77\x0b$otp_pickle", b"\x68\x04\x77\x0e$otp_exception")
_NOTHING: Final = object()
_SHOWN: Final = 200


def refuse_pickles(term: object, encoded: bytes) -> None:
    """Raise TypeError if `encoded`, the encoding of `term`, pickles a part of it.

    Fast when there is no pickle: one search of the bytes. The term is only
    walked when one of the two tags appears (a pickle, or data that looks
    like one).
    """
    if _MARKS[0] not in encoded and _MARKS[1] not in encoded:
        return
    try:
        found = _pickled_part(term)
    except RecursionError:  # nested nearly as deep as the encoder allows
        found = term
    if found is not _NOTHING:
        raise TypeError(
            f"this node was started with pickle=False, so it does not send Python values "
            f"that have no Erlang form: {safe_repr(found, _SHOWN)} ({type(found).__name__}). "
            f"Send plain data (atoms, numbers, str, bytes, tuples, lists, dicts, pids), "
            f"e.g. a list or a tuple for a set, a dict for an object."
        )


def _pickled_part(term: object) -> object:
    """The first part of `term` that the encoder pickles, or `_NOTHING`."""
    kind = type(term)
    parts: object
    if kind is tuple or kind is list or kind is FrozenList:
        parts = term
    elif kind is dict or kind is FrozenMap:
        parts = (x for pair in term.items() for x in pair)  # type: ignore[attr-defined]
    elif kind is ImproperList:
        assert isinstance(term, ImproperList)
        parts = (*term.items, term.tail)
    else:
        return term if encode(term)[1:].startswith(_MARKS) else _NOTHING
    for part in parts:  # type: ignore[attr-defined]
        found = _pickled_part(part)
        if found is not _NOTHING:
            return found
    return _NOTHING


__all__ = ["refuse_pickles"]
