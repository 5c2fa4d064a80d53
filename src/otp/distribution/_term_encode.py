"""Encoding Python values in the external term format: `encode`.

How it works: one function per exact Python type appends the encoding to a
bytearray, found in a dict keyed by `type(value)`. Subclasses of mapped
types are not mapped (an `IntEnum` is not an int to Erlang); values without
an entry are pickled. Pid subclasses (a local process is its own `Pid`) are
recognised with `isinstance` and then remembered in the dict. The tuple,
list and map loops encode small integers inline.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from .._runtime._ids import Pid, Ref
from .._runtime._terms import (
    Atom,
    BitBinary,
    Export,
    FrozenList,
    FrozenMap,
    Fun,
    ImproperList,
    Port,
    StrictMap,
)
from ._term_format import (
    ATOM_UTF8,
    BINARY,
    BIT_BINARY,
    EXPORT,
    F64,
    I32,
    INTEGER,
    LARGE_BIG,
    LARGE_TUPLE,
    LIST,
    MAP,
    MAX_REF_WORDS,
    NEW_FLOAT,
    NEW_PID,
    NEW_PORT,
    NEWER_REFERENCE,
    NIL,
    PID_FIELDS,
    PORT_FIELDS,
    REF_WORDS,
    SMALL_ATOM_UTF8,
    SMALL_BIG,
    SMALL_INTEGER,
    SMALL_TUPLE,
    STRING,
    U16,
    U32,
    V4_PORT,
    V4_PORT_FIELDS,
)

_EncodeFn = Callable[[Any, bytearray], None]  # each takes the type it is registered for


def encode(term: object) -> bytes:
    """Encode `term` as `term_to_binary` would (version byte included).

    >>> encode([1, 2, 3])
    b'\\x83k\\x00\\x03\\x01\\x02\\x03'

    Raises:
        TypeError: the value has no Erlang form and cannot be pickled.
        ValueError: the value does not fit Erlang's limits (an atom of more
            than 255 characters, a pid id beyond 32 bits...).
    """
    out = bytearray(b"\x83")
    try:
        _encode(term, out)
        return bytes(out)
    except RecursionError:
        pass  # nested deeper than Python's stack allows: encoded again below
    out = bytearray(b"\x83")
    _encode_deep(term, out)
    return bytes(out)


def _encode(term: object, out: bytearray) -> None:
    fn = _ENCODERS.get(type(term))
    if fn is None:
        fn = _encoder_for(term)
    fn(term, out)


def _encoder_for(term: object) -> _EncodeFn:
    if isinstance(term, Pid):  # a local process, or another Pid subclass
        _ENCODERS[type(term)] = _e_pid
        return _e_pid
    return _e_pickle


def _e_atom_text(text: str, out: bytearray) -> None:
    raw = text.encode("utf-8")
    n = len(raw)
    if n < 256:
        out.append(SMALL_ATOM_UTF8)
        out.append(n)
    elif len(text) <= 255:
        out.append(ATOM_UTF8)
        out += U16.pack(n)
    else:
        raise ValueError(
            f"an Erlang atom has at most 255 characters; got {len(text)}: {text[:40]!r}..."
        )
    out += raw


def _e_bool(term: bool, out: bytearray) -> None:
    out += b"\x77\x04true" if term else b"\x77\x05false"


def _e_none(term: None, out: bytearray) -> None:
    out += b"\x77\x03nil"


def _e_int(term: int, out: bytearray) -> None:
    if 0 <= term < 256:
        out.append(SMALL_INTEGER)
        out.append(term)
    elif -0x80000000 <= term <= 0x7FFFFFFF:
        out.append(INTEGER)
        out += I32.pack(term)
    else:
        magnitude = -term if term < 0 else term
        n = (magnitude.bit_length() + 7) // 8
        if n < 256:
            out.append(SMALL_BIG)
            out.append(n)
        elif n <= 0xFFFFFFFF:
            out.append(LARGE_BIG)
            out += U32.pack(n)
        else:  # pragma: no cover - needs a 4 GiB integer
            raise ValueError("integer too large for the external term format")
        out.append(term < 0)
        out += magnitude.to_bytes(n, "little")


def _e_float(term: float, out: bytearray) -> None:
    if math.isfinite(term):
        out.append(NEW_FLOAT)
        out += F64.pack(term)
    else:  # Erlang floats are finite; keep inf and nan intact between otp nodes
        _e_pickle(term, out)


def _e_str(term: str, out: bytearray) -> None:
    try:
        raw = term.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no UTF-8 form
        _e_pickle(term, out)
        return
    out.append(BINARY)
    out += U32.pack(len(raw))
    out += raw


def _e_bytes(term: bytes, out: bytearray) -> None:
    out.append(BINARY)
    out += U32.pack(len(term))
    out += term


def _e_tuple(term: tuple[Any, ...], out: bytearray) -> None:
    n = len(term)
    if n < 256:
        out.append(SMALL_TUPLE)
        out.append(n)
    else:
        out.append(LARGE_TUPLE)
        out += U32.pack(n)
    # The same loop as in _e_list, written out: one frame per nesting level.
    get = _ENCODERS.get
    for item in term:
        kind = type(item)
        if kind is int and 0 <= item < 256:
            out += _SMALL_INTS[item]
        elif kind is int and -0x80000000 <= item <= 0x7FFFFFFF:
            out += _TAGGED_I32(INTEGER, item)
        elif kind is float and item - item == 0.0:  # finite
            out += _TAGGED_F64(NEW_FLOAT, item)
        else:
            (get(kind) or _encoder_for(item))(item, out)


def _e_list(term: list[Any] | FrozenList, out: bytearray) -> None:
    n = len(term)
    if n == 0:
        out.append(NIL)
        return
    # Erlang sends lists of bytes (0..255) as STRING_EXT; do the same. bytes()
    # fails fast on most other lists; bools and int subclasses are not bytes.
    if n <= 0xFFFF and type(term[0]) is int:
        try:
            raw = bytes(term)
        except (ValueError, TypeError):
            pass
        else:
            if all(type(x) is int for x in term):
                out.append(STRING)
                out += U16.pack(n)
                out += raw
                return
    out.append(LIST)
    out += U32.pack(n)
    get = _ENCODERS.get
    for item in term:
        kind = type(item)
        if kind is int and 0 <= item < 256:
            out += _SMALL_INTS[item]
        elif kind is int and -0x80000000 <= item <= 0x7FFFFFFF:
            out += _TAGGED_I32(INTEGER, item)
        elif kind is float and item - item == 0.0:  # finite
            out += _TAGGED_F64(NEW_FLOAT, item)
        else:
            (get(kind) or _encoder_for(item))(item, out)
    out.append(NIL)


def _e_improper_list(term: ImproperList, out: bytearray) -> None:
    out.append(LIST)
    out += U32.pack(len(term.items))
    for item in term.items:
        _encode(item, out)
    _encode(term.tail, out)


def _e_map(term: dict[object, object] | FrozenMap | StrictMap, out: bytearray) -> None:
    out.append(MAP)
    out += U32.pack(len(term))
    get = _ENCODERS.get
    for key, value in term.items():
        (get(type(key)) or _encoder_for(key))(key, out)
        (get(type(value)) or _encoder_for(value))(value, out)


def _e_pid(term: Pid, out: bytearray) -> None:
    out.append(NEW_PID)
    _e_atom_text(term._node_name, out)
    try:
        out += PID_FIELDS.pack(term._id, term._serial, term._creation)
    except struct.error:
        raise ValueError(f"{term!r} does not fit the 32-bit fields of a pid") from None


def _e_ref(term: Ref, out: bytearray) -> None:
    ids = term._ids
    n = len(ids)
    if not 1 <= n <= MAX_REF_WORDS:
        raise ValueError(f"{term!r}: a reference has 1 to 5 words, not {n}")
    out.append(NEWER_REFERENCE)
    out += U16.pack(n)
    _e_atom_text(term._node_name, out)
    try:
        out += U32.pack(term._creation)
        out += REF_WORDS[n].pack(*ids)
    except struct.error:
        raise ValueError(f"{term!r} does not fit the 32-bit words of a reference") from None


def _e_port(term: Port, out: bytearray) -> None:
    # As Erlang does: NEW_PORT_EXT while the id fits 32 bits, else V4_PORT_EXT.
    small = term._id <= 0xFFFFFFFF
    out.append(NEW_PORT if small else V4_PORT)
    _e_atom_text(term._node_name, out)
    out += (PORT_FIELDS if small else V4_PORT_FIELDS).pack(term._id, term._creation)


def _e_export(term: Export, out: bytearray) -> None:
    out.append(EXPORT)
    _e_atom_text(term.module, out)
    _e_atom_text(term.function, out)
    out.append(SMALL_INTEGER)
    out.append(term.arity)


def _e_fun(term: Fun, out: bytearray) -> None:
    out += term._raw


def _e_bit_binary(term: BitBinary, out: bytearray) -> None:
    out.append(BIT_BINARY)
    out += U32.pack(len(term.data))
    out.append(term.bits)
    out += term.data


def _encode_deep(term: object, out: bytearray) -> None:
    """`_encode` with an explicit stack, for terms nested beyond Python's stack.

    How it works: the stack holds an iterator per open container over the
    terms it still has to write (a map's keys and values alternate; a list
    ends with `_END_OF_LIST`, which writes its NIL). Each term of the top
    iterator is written: a container writes its header, as its encoding
    function does, and pushes its iterator; anything else is written by its
    encoding function. An exhausted iterator is popped. The bytes are those
    of `_encode`: lists of only integers cannot nest, so `_e_list` writes
    them (as `STRING_EXT` when they are bytes).
    """
    get = _ENCODERS.get
    stack: list[Iterator[Any]] = [iter((term,))]
    # The ids of the open containers (the root's slot holds 0): a list that
    # contains itself would otherwise push frames until memory runs out.
    path: list[int] = [0]
    open_ids: set[int] = set()
    while stack:
        for item in stack[-1]:
            kind = type(item)
            if kind is tuple:
                n = len(item)
                if n < 256:
                    out.append(SMALL_TUPLE)
                    out.append(n)
                else:
                    out.append(LARGE_TUPLE)
                    out += U32.pack(n)
                children: Iterator[Any] = iter(item)
            elif (kind is list or kind is FrozenList) and item:
                if all(type(x) is int for x in item):
                    _e_list(item, out)
                    continue
                out.append(LIST)
                out += U32.pack(len(item))
                children = chain(item, _END_OF_LIST)
            elif kind is dict or kind is FrozenMap or kind is StrictMap:
                out.append(MAP)
                out += U32.pack(len(item))
                children = chain.from_iterable(item.items())
            elif kind is ImproperList:
                out.append(LIST)
                out += U32.pack(len(item.items))
                children = chain(item.items, (item.tail,))
            elif item is _END_OF_LIST[0]:
                out.append(NIL)
                continue
            else:
                (get(kind) or _encoder_for(item))(item, out)
                continue
            if id(item) in open_ids:
                raise ValueError(
                    f"cannot encode a {kind.__name__} that contains itself: an Erlang term "
                    "is a tree; put a copy inside instead of the value itself"
                )
            open_ids.add(id(item))
            path.append(id(item))
            stack.append(children)
            break
        else:
            stack.pop()
            open_ids.discard(path.pop())


_END_OF_LIST = (object(),)


class _PidPickler(pickle.Pickler):
    """Pickles pids (which refuse plain pickling) as their external form."""

    def persistent_id(self, obj: object) -> object:
        if isinstance(obj, Pid):
            return encode(obj)
        return None


def _e_pickle(term: object, out: bytearray) -> None:
    buffer = io.BytesIO()
    try:
        _PidPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(term)
    except Exception as exc:
        raise TypeError(
            f"cannot encode {term!r} ({type(term).__name__}): it has no Erlang form and "
            f"pickling it failed ({exc}). Send plain data (atoms, numbers, str, bytes, "
            "tuples, lists, dicts, pids) or a picklable object."
        ) from exc
    raw = buffer.getvalue()
    if isinstance(term, BaseException):
        # A crash reason: Erlang and Elixir read its class and message, and
        # other otp nodes get the exception itself back from the pickle.
        try:
            message = str(term)
        except Exception:  # a broken __str__ must not stop the exit signal
            message = ""
        out += b"\x68\x04\x77\x0e$otp_exception"
        _e_str(type(term).__name__, out)
        _e_str(message, out)
    else:
        out += b"\x68\x02\x77\x0b$otp_pickle"
    out.append(0x6D)  # BINARY_EXT
    out += U32.pack(len(raw))
    out += raw


_SMALL_INTS = [bytes((SMALL_INTEGER, i)) for i in range(256)]
_TAGGED_I32 = struct.Struct(">Bi").pack
_TAGGED_F64 = struct.Struct(">Bd").pack

_ENCODERS: dict[type, _EncodeFn] = {
    Atom: _e_atom_text,
    bool: _e_bool,
    type(None): _e_none,
    int: _e_int,
    float: _e_float,
    str: _e_str,
    bytes: _e_bytes,
    tuple: _e_tuple,
    list: _e_list,
    FrozenList: _e_list,
    dict: _e_map,
    FrozenMap: _e_map,
    StrictMap: _e_map,
    ImproperList: _e_improper_list,
    Pid: _e_pid,
    Ref: _e_ref,
    Port: _e_port,
    Export: _e_export,
    Fun: _e_fun,
    BitBinary: _e_bit_binary,
}
