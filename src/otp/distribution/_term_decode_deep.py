"""Decoding terms nested deeper than Python's stack allows: `deep_term`.

The tag functions recurse, one Python frame per level of nesting, which is
the fastest way to decode ordinary terms but stops near Python's recursion
limit (about 990 levels). Erlang nests far deeper (a list of 100,000 nested
lists is an ordinary value to it), so when the recursive decoder raises
`RecursionError`, the session decodes the term again with `deep_term`.

How it works: an explicit stack of `_Frame`s, one per open tuple, list or
map, replaces the Python frames. The loop reads the tag at `pos`: a
container pushes a frame (its header read and checked exactly as the tag
function does); any other tag is a leaf, decoded by its tag function. The
value is then handed to the frame on top, and each frame that is complete
is closed (its value built as the tag function builds it) and handed to the
frame below, until one needs more elements or the stack is empty.

A list's tail that is itself a `LIST_EXT` (`[1 | [2 | T]]`, non-canonical
but legal) continues the same frame instead of nesting, which is what the
recursive decoder's result amounts to, and keeps a long chain linear.

The results, and the errors on malformed input, are those of the recursive
decoder; only funs nested in funs, and terms inside a pickle, still recurse.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .._runtime._terms import Atom, ImproperList
from ._term_decode_containers import map_of_pairs
from ._term_decode_table import _DECODERS, _too_long, _truncated
from ._term_format import EXCEPTION_TAG, F64, I32, PICKLE_TAG, U32

if TYPE_CHECKING:
    from ._term_decode import Decoder

_SMALL_TUPLE = 104
_LARGE_TUPLE = 105
_LIST = 108
_MAP = 116
_NIL = 106
_CONTAINERS = frozenset((_SMALL_TUPLE, _LARGE_TUPLE, _LIST, _MAP))
_NOTHING = object()
_float_at = F64.unpack_from
_int_at = I32.unpack_from


class _Frame:
    """An open container: what it holds so far and how many terms it still needs.

    `count` is the size its header claims and `base` how many items it held
    when that header was read (a list continued by its tail's header), so
    that errors count elements as the recursive decoder does. A list whose
    elements are all read has `left == -1` while its tail is decoded; a map
    holds its pending key in `key`.
    """

    __slots__ = ("base", "count", "items", "key", "kind", "left", "start")

    items: list[object]

    def __init__(self, kind: int, count: int, start: int) -> None:
        self.kind = kind
        self.count = count
        self.left = 2 * count if kind == _MAP else count
        self.items = []
        self.base = 0
        self.start = start
        self.key: object = _NOTHING


def deep_term(s: Decoder, pos: int) -> tuple[object, int]:
    """Decode the term whose tag is at `pos` without recursing; return it and its end."""
    data = s._data
    stack: list[_Frame] = []
    while True:
        top = stack[-1] if stack else None
        try:
            tag = data[pos]
        except IndexError:
            _missing(top, pos)
        if tag in _CONTAINERS:
            frame, pos = _open(s, tag, pos)
            stack.append(frame)
            value: object = _NOTHING
        elif top is None:
            return _DECODERS[tag](s, pos + 1)
        else:
            value, pos = _leaf(s, top, tag, pos)
        # Hand the value up, closing every frame that is now complete.
        while stack:
            top = stack[-1]
            if value is not _NOTHING:
                _add(top, value)
            if top.left > 0:
                break
            if top.kind == _LIST:  # all its elements read
                pos = _list_end(s, top, pos)
                if top.kind == _LIST:  # continued by its tail's header, or awaiting the tail
                    break
            stack.pop()
            value = _close(s, top, pos)
        else:
            return value, pos


def _missing(top: _Frame | None, pos: int) -> None:
    """The input ends where the next term of `top` should start."""
    if top is None:
        _truncated(pos, "a term")
    done = len(top.items) - top.base
    if abs(top.kind) == _LIST:
        _truncated(pos, f"element {done + 1} of a list of {top.count} elements, or its tail")
    if top.kind == _MAP:
        _truncated(pos, f"a key or value of a map of {top.count} pairs")
    _truncated(pos, f"element {done + 1} of a tuple of {top.count} elements")


def _open(s: Decoder, tag: int, pos: int) -> tuple[_Frame, int]:
    """Read a container's header, as its tag function does; return its frame."""
    data = s._data
    if tag == _SMALL_TUPLE:
        try:
            arity = data[pos + 1]
        except IndexError:
            _truncated(pos + 1, "the arity of a tuple")
        _too_long(s, pos + 2, arity, "a tuple")
        return _Frame(tag, arity, pos), pos + 2
    try:
        (count,) = U32.unpack_from(data, pos + 1)
    except struct.error:
        what = {_LARGE_TUPLE: "the arity of a tuple", _LIST: "the length of a list"}
        _truncated(pos + 1, what.get(tag, "the size of a map"))
    if tag == _MAP:
        _too_long(s, pos + 5, 2 * count, "a map (keys and values)")
    else:
        _too_long(s, pos + 5, count, "a tuple" if tag == _LARGE_TUPLE else "a list")
    return _Frame(tag, count, pos), pos + 5


def _leaf(s: Decoder, top: _Frame, tag: int, pos: int) -> tuple[object, int]:
    """Decode a term that is not a container, as the container `top` would."""
    data = s._data
    kind = top.kind
    try:
        # The recursive tuple and list loops decode these inline, so a
        # truncated one is reported as a missing element of the container.
        if tag == 97 and (kind == _SMALL_TUPLE or (kind == _LIST and top.left > 0)):
            return data[pos + 1], pos + 2
        if kind == _LIST and top.left > 0:
            if tag == 70:
                return _float_at(data, pos + 1)[0], pos + 9
            if tag == 98:
                return _int_at(data, pos + 1)[0], pos + 5
    except (IndexError, struct.error):
        _missing(top, pos)
    return _DECODERS[tag](s, pos + 1)


def _add(top: _Frame, value: object) -> None:
    """Give the frame its next term: an element, a map's key or value, a list's tail."""
    if top.left < 0:  # a list's tail: the list is complete
        top.key = value
        top.left = 0
        top.kind = -_LIST
        return
    if top.kind != _MAP:
        top.items.append(value)
    elif top.left % 2 == 0:
        top.key = value
    else:
        top.items.append((top.key, value))
    top.left -= 1


def _list_end(s: Decoder, top: _Frame, pos: int) -> int:
    """After a list's elements: NIL closes it, LIST_EXT continues it, else a tail follows.

    A closed list gets kind `-_LIST` (its tail in `key`); one awaiting its
    tail keeps `_LIST` with `left == -1`.
    """
    data = s._data
    while True:
        try:
            tag = data[pos]
        except IndexError:
            _missing(top, pos)
        if tag == _NIL:
            top.key = []
            top.kind = -_LIST
            return pos + 1
        if tag != _LIST:
            top.left = -1
            return pos
        try:
            (count,) = U32.unpack_from(data, pos + 1)
        except struct.error:
            _truncated(pos + 1, "the length of a list")
        pos += 5
        _too_long(s, pos, count, "a list")
        top.count = top.left = count
        top.base = len(top.items)
        if count:
            return pos


def _close(s: Decoder, top: _Frame, pos: int) -> object:
    """The value of a complete container, built as its tag function builds it."""
    items = top.items
    if top.kind == _SMALL_TUPLE or top.kind == _LARGE_TUPLE:
        if top.kind == _SMALL_TUPLE and s.allow_pickle and len(items) in (2, 4):
            first = items[0]
            if len(items) == 2 and type(first) is Atom and first == PICKLE_TAG:
                return s._unpickle(items[1], pos)
            if len(items) == 4 and type(first) is Atom and first == EXCEPTION_TAG:
                return s._unpickle(items[3], pos)
        return tuple(items)
    if top.kind == _MAP:
        return map_of_pairs(items, top.start)  # type: ignore[arg-type]
    tail = top.key  # a list: its tail, [] for a proper list
    if type(tail) is list:
        items.extend(tail)
        return items
    if not items:
        return tail
    if type(tail) is ImproperList:
        return ImproperList(items + list(tail.items), tail.tail)
    return ImproperList(items, tail)
