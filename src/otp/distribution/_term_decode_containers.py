"""Decoding tuples, lists and maps.

The tuple, list and map loops are written out rather than shared, so that
each level of nesting costs one Python frame (about 990 levels fit in
Python's default recursion limit), and decode small integers and floats
inline: they are most of the elements of numeric lists.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .._runtime._terms import (
    Atom,
    ImproperList,
    StrictMap,
    freeze,
)
from ._term_decode_table import _DECODERS, _too_long, _truncated
from ._term_format import (
    EXCEPTION_TAG,
    F64,
    I32,
    PICKLE_TAG,
    U16,
    U32,
    DecodeError,
)

if TYPE_CHECKING:
    from ._term_decode import Decoder


# --- containers ------------------------------------------------------------


def _elements(s: Decoder, pos: int, count: int, what: str) -> tuple[list[object], int]:
    """Decode `count` consecutive terms."""
    _too_long(s, pos, count, what)
    data = s._data
    items: list[object] = []
    append = items.append
    try:
        for _ in range(count):
            value, pos = _DECODERS[data[pos]](s, pos + 1)
            append(value)
    except IndexError:
        _truncated(pos, f"element {len(items) + 1} of {what} of {count} elements")
    return items, pos


def _d_small_tuple(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        arity = data[pos]
    except IndexError:
        _truncated(pos, "the arity of a tuple")
    pos += 1
    _too_long(s, pos, arity, "a tuple")
    items: list[object] = []
    append = items.append
    try:
        for _ in range(arity):
            tag = data[pos]
            if tag == 97:  # SMALL_INTEGER
                append(data[pos + 1])
                pos += 2
            else:
                value, pos = _DECODERS[tag](s, pos + 1)
                append(value)
    except IndexError:
        _truncated(pos, f"element {len(items) + 1} of a tuple of {arity} elements")
    if arity == 2 and type(items[0]) is Atom and items[0] == PICKLE_TAG and s.allow_pickle:
        # {'$otp_pickle', Binary}: a Python value with no Erlang form.
        return s._unpickle(items[1], pos), pos
    if arity == 4 and type(items[0]) is Atom and items[0] == EXCEPTION_TAG and s.allow_pickle:
        # {'$otp_exception', Class, Message, Binary}: an exception, readable by Erlang.
        return s._unpickle(items[3], pos), pos
    return tuple(items), pos


def _d_large_tuple(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        (arity,) = U32.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the arity of a tuple")
    items, end = _elements(s, pos + 4, arity, "a tuple")
    return tuple(items), end


def _d_nil(s: Decoder, pos: int) -> tuple[object, int]:
    return [], pos


def _d_string(s: Decoder, pos: int) -> tuple[object, int]:
    # A list of bytes (Erlang's compact form of a charlist): a list of ints.
    data = s._data
    try:
        (n,) = U16.unpack_from(data, pos)
    except struct.error:
        _truncated(pos, "the length of a string")
    end = pos + 2 + n
    if end > len(data):
        _truncated(pos, f"a string of {n} bytes")
    return list(data[pos + 2 : end]), end


def _d_list(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        (n,) = U32.unpack_from(data, pos)
    except struct.error:
        _truncated(pos, "the length of a list")
    pos += 4
    _too_long(s, pos, n, "a list")
    items: list[object] = []
    append = items.append
    float_at = F64.unpack_from
    int_at = I32.unpack_from
    try:
        for _ in range(n):
            tag = data[pos]
            if tag == 97:  # SMALL_INTEGER
                append(data[pos + 1])
                pos += 2
            elif tag == 70:  # NEW_FLOAT
                append(float_at(data, pos + 1)[0])
                pos += 9
            elif tag == 98:  # INTEGER
                append(int_at(data, pos + 1)[0])
                pos += 5
            else:
                value, pos = _DECODERS[tag](s, pos + 1)
                append(value)
        tag = data[pos]
    except (IndexError, struct.error):
        _truncated(pos, f"element {len(items) + 1} of a list of {n} elements, or its tail")
    if tag == 106:  # NIL: a proper list
        return items, pos + 1
    tail, pos = _DECODERS[tag](s, pos + 1)
    if type(tail) is list:  # a non-canonical list tail: [1 | [2]] is [1, 2]
        items.extend(tail)
        return items, pos
    if not items:  # a zero-length LIST_EXT is just its tail
        return tail, pos
    if type(tail) is ImproperList:
        return ImproperList(items + list(tail.items), tail.tail), pos
    return ImproperList(items, tail), pos


def _d_map(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        (arity,) = U32.unpack_from(data, pos)
    except struct.error:
        _truncated(pos, "the size of a map")
    start = pos - 1
    pos += 4
    _too_long(s, pos, 2 * arity, "a map (keys and values)")
    result: dict[object, object] = {}
    try:
        for _ in range(arity):
            key, pos = _DECODERS[data[pos]](s, pos + 1)
            value, pos = _DECODERS[data[pos]](s, pos + 1)
            try:
                result[key] = value
            except TypeError:  # a list or map as a key: Erlang allows it, a dict needs hashable
                result[freeze(key)] = value
    except IndexError:
        _truncated(pos, f"a key or value of a map of {arity} pairs")
    if len(result) != arity:
        # e.g. #{a => 1, <<"a">> => 2}: Atom("a") == "a" in Python, so the
        # dict kept one pair for two keys. Such maps are rare: decode the
        # pairs again and keep them all, rather than tracking them on the
        # common path. (A pickle among them is unpickled a second time.)
        return _strict_map(s, start + 5, arity, start)
    return result, pos


def _strict_map(s: Decoder, pos: int, arity: int, start: int) -> tuple[object, int]:
    """The map at `start`, whose pairs start at `pos`, as a `StrictMap`."""
    data = s._data
    pairs: list[tuple[object, object]] = []
    for _ in range(arity):
        key, pos = _DECODERS[data[pos]](s, pos + 1)
        value, pos = _DECODERS[data[pos]](s, pos + 1)
        pairs.append((key, value))
    return map_of_pairs(pairs, start), pos


def map_of_pairs(pairs: list[tuple[object, object]], start: int) -> object:
    """A dict of the decoded `pairs`, or a `StrictMap` when a dict would merge keys.

    Keys that are lists or maps (unhashable) become `FrozenList` / `FrozenMap`.
    """
    result: dict[object, object] = {}
    for i, (key, value) in enumerate(pairs):
        try:
            result[key] = value
        except TypeError:  # a list or map as a key
            key = freeze(key)
            pairs[i] = (key, value)
            result[key] = value
    if len(result) == len(pairs):
        return result
    try:
        return StrictMap(pairs)
    except ValueError:
        # Erlang never sends this: the same key twice, as in hand-made bytes.
        raise DecodeError(
            "map holds the same key twice (exactly equal, as Erlang compares keys); "
            "the bytes were not made by term_to_binary",
            start,
        ) from None
