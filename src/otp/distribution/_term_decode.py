"""Decoding the external term format: `Decoder`, `decode`, `decode_from`.

How it works: one function per tag, found through a 256-entry table indexed
by the tag byte. Each takes the session (the `Decoder`) and the offset just
past the tag and returns `(value, next offset)`. Reads past the end surface
as `IndexError` or `struct.error` from C code; each function catches those
where they happen and raises `DecodeError` naming what it expected, so the
common path pays for no explicit bounds checks (`try` costs nothing until
something is raised). Every claimed length or count is compared with the
bytes that remain before anything is allocated, so a short input claiming
four billion elements fails at once.

The tuple, list and map loops are written out rather than shared, so that
each level of nesting costs one Python frame (about 990 levels fit in
Python's default recursion limit), and decode small integers and floats
inline: they are most of the elements of numeric lists.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib

from .._runtime._ids import Pid, _new_ref, _new_remote_pid
from .._runtime._repr import safe_repr
from .._runtime._terms import (
    Atom,
    BitBinary,
    Export,
    ImproperList,
    _new_fun,
    _new_port,
    freeze,
)
from ._term_decode_table import (
    _DECODERS,
    _SHOWN,
    ByteString,
    _too_long,
    _truncated,
)
from ._term_format import (
    ATOM,
    ATOM_UTF8,
    BINARY,
    BIT_BINARY,
    COMPRESSED,
    EXCEPTION_TAG,
    EXPORT,
    F64,
    FLOAT,
    FUN_HEAD,
    I32,
    INTEGER,
    LARGE_BIG,
    LARGE_TUPLE,
    LIST,
    MAP,
    MAX_REF_WORDS,
    NEW_FLOAT,
    NEW_FUN,
    NEW_PID,
    NEW_PORT,
    NEW_REFERENCE,
    NEWER_REFERENCE,
    NIL,
    OLD_PID_FIELDS,
    OLD_PORT_FIELDS,
    PICKLE_TAG,
    PID,
    PID_FIELDS,
    PORT,
    PORT_FIELDS,
    REF_WORDS,
    REFERENCE,
    SMALL_ATOM,
    SMALL_ATOM_UTF8,
    SMALL_BIG,
    SMALL_INTEGER,
    SMALL_TUPLE,
    STRING,
    U16,
    U32,
    V4_PORT,
    V4_PORT_FIELDS,
    VERSION,
    DecodeError,
    PidHook,
)

# Decoded atoms by their bytes (Latin-1 ones by a 1-tuple of their bytes, so
# that no UTF-8 atom, valid or not, finds them: the Latin-1 atom <<254>> must
# not answer for the invalid UTF-8 atom <<255, 254>>). Atoms are immutable
# values, so every decoder shares this memo; it is emptied when it reaches
# its size limit.
_ATOMS: dict[bytes | tuple[bytes], object] = {}
_ATOMS_LIMIT = 4096
_SPECIAL_ATOMS: dict[str, object] = {"true": True, "false": False, "nil": None}
_MISSING = object()


class Decoder:
    """A decoding session: holds the `pids` hook and the pids it interned.

    A connection keeps one `Decoder` for its lifetime, so that a pid arriving
    twice is the same object. A `Decoder` decodes one term at a time; do not
    share one between threads.

    >>> d = Decoder()
    >>> first, end = d.decode_from(b"\\x83a\\x01\\x83a\\x02", 0)
    >>> first, end, d.decode_from(b"\\x83a\\x01\\x83a\\x02", end)
    (1, 3, (2, 6))

    Args:
        pids: builds a `Pid` from `(node, id, serial, creation)`; by default a
            remote pid, interned in this decoder.
        allow_pickle: unpickle `{'$otp_pickle', Binary}` tuples (the default,
            right for connections, whose peers share the cookie). Turn it off
            for bytes from untrusted sources: such tuples then stay tuples.
    """

    __slots__ = ("_data", "_interned", "allow_pickle", "pids")

    def __init__(self, *, pids: PidHook | None = None, allow_pickle: bool = True) -> None:
        self._data = b""
        self._interned: dict[tuple[str, int, int, int], Pid] = {}
        self.pids: PidHook = self._intern_pid if pids is None else pids
        self.allow_pickle = allow_pickle

    def decode(self, data: ByteString) -> object:
        """Decode one whole term (version byte included); extra bytes are an error."""
        value, end = self.decode_from(data, 0)
        if end != len(data):
            raise DecodeError(f"{len(data) - end} unexpected bytes after the term", end)
        return value

    def decode_from(
        self, data: ByteString, offset: int = 0, *, version_byte: bool = True
    ) -> tuple[object, int]:
        """Decode the term at `offset`; return it and the offset just past it.

        With `version_byte=False` the term has no leading 131 (as after a
        distribution header). Pass `bytes`: other buffers are copied first.
        """
        if type(data) is not bytes:
            data = bytes(data)
        saved = self._data  # decode_from re-enters while unpickling
        self._data = data
        try:
            if version_byte:
                if offset >= len(data) or data[offset] != VERSION:
                    got = data[offset] if offset < len(data) else "end of input"
                    raise DecodeError(f"expected the version byte 131, got {got}", offset)
                offset += 1
                if offset < len(data) and data[offset] == COMPRESSED:
                    return self._decompress(offset + 1)
            return self._term(offset)
        except RecursionError:
            raise DecodeError("term nested too deeply to decode", offset) from None
        finally:
            self._data = saved

    def _term(self, pos: int) -> tuple[object, int]:
        try:
            tag = self._data[pos]
        except IndexError:
            _truncated(pos, "a term")
        return _DECODERS[tag](self, pos + 1)

    def _intern_pid(self, node: str, id_: int, serial: int, creation: int) -> Pid:
        key = (node, id_, serial, creation)
        pid = self._interned.get(key)
        if pid is None:
            pid = self._interned[key] = _new_remote_pid(node, id_, serial, creation)
        return pid

    def _decompress(self, pos: int) -> tuple[object, int]:
        # term_to_binary(T, [compressed]): 131 80 Size:32 ZlibData, where the
        # zlib data inflates to exactly Size bytes holding T without a 131.
        data = self._data
        try:
            (size,) = U32.unpack_from(data, pos)
        except struct.error:
            _truncated(pos, "the uncompressed size of a compressed term")
        inflater = zlib.decompressobj()
        try:
            inner = inflater.decompress(data[pos + 4 :], size)
        except zlib.error as exc:
            raise DecodeError(f"invalid zlib data in a compressed term: {exc}", pos + 4) from None
        if len(inner) != size or not inflater.eof:
            raise DecodeError(
                f"compressed term does not inflate to the {size} bytes it claims", pos + 4
            )
        self._data = inner
        value, inner_end = self._term(0)
        if inner_end != size:
            raise DecodeError(f"{size - inner_end} unexpected bytes in a compressed term", pos)
        return value, len(data) - len(inflater.unused_data)

    def _unpickle(self, payload: object, pos: int) -> object:
        raw = payload.encode("utf-8") if isinstance(payload, str) else payload
        if not isinstance(raw, bytes):
            raise DecodeError("an '$otp_pickle' tuple must hold a binary", pos)
        try:
            return _PidUnpickler(io.BytesIO(raw), self).load()
        except Exception as exc:
            raise DecodeError(
                f"could not unpickle an '$otp_pickle' value: {safe_repr(exc, _SHOWN)}", pos
            ) from None


def decode(data: ByteString, *, pids: PidHook | None = None, allow_pickle: bool = True) -> object:
    """Decode one term produced by `term_to_binary` or `encode`.

    >>> decode(bytes([131, 104, 2, 100, 0, 2, 111, 107, 97, 7]))
    (Atom('ok'), 7)

    Equal pids within the term are the same object (see `Decoder` to keep
    that across several terms).

    Raises:
        DecodeError: the bytes are malformed or truncated, or hold extra bytes
            after the term.
    """
    return Decoder(pids=pids, allow_pickle=allow_pickle).decode(data)


def decode_from(
    data: ByteString, offset: int = 0, *, pids: PidHook | None = None, allow_pickle: bool = True
) -> tuple[object, int]:
    """Decode the term starting at `offset` (at its 131 byte); return `(term, next_offset)`.

    Terms that follow each other in one buffer (a control message and its
    payload) are read one after the other:

    >>> decode_from(b"\\x83a\\x01\\x83j", 0)
    (1, 3)
    >>> decode_from(b"\\x83a\\x01\\x83j", 3)
    ([], 5)
    """
    return Decoder(pids=pids, allow_pickle=allow_pickle).decode_from(data, offset)


# --- numbers ---------------------------------------------------------------


def _d_small_integer(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        return s._data[pos], pos + 1
    except IndexError:
        _truncated(pos, "a small integer")


def _d_integer(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        return I32.unpack_from(s._data, pos)[0], pos + 4
    except struct.error:
        _truncated(pos, "a 32-bit integer")


def _big(s: Decoder, pos: int, n: int, start: int) -> tuple[object, int]:
    # Sign byte, then n digits of 8 bits, least significant first.
    data = s._data
    end = start + 1 + n
    if end > len(data):
        _truncated(pos, f"a big integer of {n} bytes")
    value = int.from_bytes(data[start + 1 : end], "little")
    return (-value if data[start] else value), end


def _d_small_big(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        n = s._data[pos]
    except IndexError:
        _truncated(pos, "the length of a big integer")
    return _big(s, pos, n, pos + 1)


def _d_large_big(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        (n,) = U32.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the length of a big integer")
    return _big(s, pos, n, pos + 4)


def _d_new_float(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        return F64.unpack_from(s._data, pos)[0], pos + 8
    except struct.error:
        _truncated(pos, "an 8-byte float")


def _d_float(s: Decoder, pos: int) -> tuple[object, int]:
    # Minor version 0: the float as 31 bytes of "%.20e" text, NUL padded.
    raw = s._data[pos : pos + 31]
    if len(raw) < 31:
        _truncated(pos, "a 31-byte float string")
    try:
        return float(raw.split(b"\0", 1)[0].decode("ascii")), pos + 31
    except (ValueError, UnicodeDecodeError):
        raise DecodeError(f"invalid float string {raw!r}", pos) from None


# --- atoms -----------------------------------------------------------------


def _atom(data: bytes, pos: int, start: int, end: int, utf8: bool) -> object:
    raw = data[start:end]
    if end > len(data):
        _truncated(pos, f"an atom of {end - start} bytes")
    key: bytes | tuple[bytes] = raw if utf8 else (raw,)
    value = _ATOMS.get(key, _MISSING)
    if value is _MISSING:
        try:
            text = raw.decode("utf-8" if utf8 else "latin-1")
        except UnicodeDecodeError:
            raise DecodeError("atom text is not valid UTF-8", start) from None
        value = _SPECIAL_ATOMS.get(text, _MISSING)
        if value is _MISSING:
            value = Atom(text)
        if len(_ATOMS) >= _ATOMS_LIMIT:
            _ATOMS.clear()
        _ATOMS[key] = value
    return value


def _d_small_atom_utf8(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        end = pos + 1 + data[pos]
    except IndexError:
        _truncated(pos, "the length of an atom")
    value = _ATOMS.get(data[pos + 1 : end], _MISSING)  # the common case, inline
    if value is _MISSING or end > len(data):
        value = _atom(data, pos, pos + 1, end, True)
    return value, end


def _d_atom_utf8(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        end = pos + 2 + U16.unpack_from(s._data, pos)[0]
    except struct.error:
        _truncated(pos, "the length of an atom")
    return _atom(s._data, pos, pos + 2, end, True), end


def _d_atom(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        end = pos + 2 + U16.unpack_from(s._data, pos)[0]
    except struct.error:
        _truncated(pos, "the length of an atom")
    return _atom(s._data, pos, pos + 2, end, False), end


def _d_small_atom(s: Decoder, pos: int) -> tuple[object, int]:
    try:
        end = pos + 1 + s._data[pos]
    except IndexError:
        _truncated(pos, "the length of an atom")
    return _atom(s._data, pos, pos + 1, end, False), end


def _atom_text(s: Decoder, pos: int, what: str) -> tuple[str, int]:
    """Read an atom that must stay text (a node or module name)."""
    data = s._data
    if pos + 1 < len(data) and data[pos] == 119:  # SMALL_ATOM_UTF8, already seen
        end = pos + 2 + data[pos + 1]
        value = _ATOMS.get(data[pos + 2 : end])
        if type(value) is Atom and end <= len(data):
            return value, end
    value, end = s._term(pos)
    if isinstance(value, str):
        return value, end
    if value is None or type(value) is bool:
        return {None: "nil", True: "true", False: "false"}[value], end
    raise DecodeError(f"expected an atom for {what}, got {safe_repr(value, _SHOWN)}", pos)


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
        # e.g. #{a => 1, <<"a">> => 2}: Atom("a") == "a" in Python
        raise DecodeError(
            "map has keys that differ in Erlang but are equal in Python "
            '(such as the atom a and the binary "a", or 1 and 1.0); it cannot be a dict',
            start,
        )
    return result, pos


# --- binaries --------------------------------------------------------------


def _d_binary(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        (n,) = U32.unpack_from(data, pos)
    except struct.error:
        _truncated(pos, "the length of a binary")
    end = pos + 4 + n
    if end > len(data):
        _truncated(pos, f"a binary of {n} bytes")
    raw = data[pos + 4 : end]
    try:
        return raw.decode("utf-8"), end
    except UnicodeDecodeError:
        return raw, end


def _d_bit_binary(s: Decoder, pos: int) -> tuple[object, int]:
    data = s._data
    try:
        (n,) = U32.unpack_from(data, pos)
        bits = data[pos + 4]
    except (struct.error, IndexError):
        _truncated(pos, "the header of a bitstring")
    end = pos + 5 + n
    if end > len(data):
        _truncated(pos, f"a bitstring of {n} bytes")
    if n == 0 or not 1 <= bits <= 8:
        raise DecodeError(f"invalid bitstring: {n} bytes with {bits} bits in the last", pos)
    return BitBinary(data[pos + 5 : end], bits), end


# --- pids, references, ports -----------------------------------------------


def _d_new_pid(s: Decoder, pos: int) -> tuple[object, int]:
    node, pos = _atom_text(s, pos, "the node of a pid")
    try:
        id_, serial, creation = PID_FIELDS.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the id, serial and creation of a pid")
    return s.pids(node, id_, serial, creation), pos + 12


def _d_pid(s: Decoder, pos: int) -> tuple[object, int]:
    node, pos = _atom_text(s, pos, "the node of a pid")
    try:
        id_, serial, creation = OLD_PID_FIELDS.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the id, serial and creation of a pid")
    return s.pids(node, id_, serial, creation), pos + 9


def _ref_words(s: Decoder, pos: int, creation_size: int) -> tuple[object, int]:
    # Len:16 Node Creation (4 bytes, or 1 in the legacy form) then Len words.
    data = s._data
    try:
        (n,) = U16.unpack_from(data, pos)
    except struct.error:
        _truncated(pos, "the length of a reference")
    if not 1 <= n <= MAX_REF_WORDS:
        raise DecodeError(f"a reference has 1 to {MAX_REF_WORDS} words, not {n}", pos)
    node, at = _atom_text(s, pos + 2, "the node of a reference")
    try:
        creation = U32.unpack_from(data, at)[0] if creation_size == 4 else data[at]
        ids = REF_WORDS[n].unpack_from(data, at + creation_size)
    except (struct.error, IndexError):
        _truncated(at, f"the creation and {n} words of a reference")
    return _new_ref(node, creation, ids), at + creation_size + 4 * n


def _d_newer_reference(s: Decoder, pos: int) -> tuple[object, int]:
    return _ref_words(s, pos, 4)


def _d_new_reference(s: Decoder, pos: int) -> tuple[object, int]:
    return _ref_words(s, pos, 1)


def _d_reference(s: Decoder, pos: int) -> tuple[object, int]:
    node, pos = _atom_text(s, pos, "the node of a reference")
    try:
        id_, creation = OLD_PORT_FIELDS.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the id and creation of a reference")
    return _new_ref(node, creation, (id_,)), pos + 5


def _port(s: Decoder, pos: int, fields: struct.Struct) -> tuple[object, int]:
    node, pos = _atom_text(s, pos, "the node of a port")
    try:
        id_, creation = fields.unpack_from(s._data, pos)
    except struct.error:
        _truncated(pos, "the id and creation of a port")
    return _new_port(node, id_, creation), pos + fields.size


def _d_v4_port(s: Decoder, pos: int) -> tuple[object, int]:
    return _port(s, pos, V4_PORT_FIELDS)


def _d_new_port(s: Decoder, pos: int) -> tuple[object, int]:
    return _port(s, pos, PORT_FIELDS)


def _d_port(s: Decoder, pos: int) -> tuple[object, int]:
    return _port(s, pos, OLD_PORT_FIELDS)


# --- funs ------------------------------------------------------------------


def _d_export(s: Decoder, pos: int) -> tuple[object, int]:
    module, pos = _atom_text(s, pos, "the module of an external fun")
    function, at = _atom_text(s, pos, "the function of an external fun")
    arity, end = s._term(at)
    if type(arity) is not int or not 0 <= arity <= 255:
        raise DecodeError(
            f"expected the arity of an external fun, got {safe_repr(arity, _SHOWN)}", at
        )
    return Export(module, function, arity), end


def _d_new_fun(s: Decoder, pos: int) -> tuple[object, int]:
    # 112 Size:32 Arity Uniq:16 Index:32 NumFree:32 Module OldIndex OldUniq Pid
    # FreeVars...; Size counts itself and everything after it. The fun is
    # kept as its exact bytes; the fields are decoded to validate them.
    data = s._data
    try:
        (size,) = U32.unpack_from(data, pos)
        arity, _uniq, _index, num_free = FUN_HEAD.unpack_from(data, pos + 4)
    except struct.error:
        _truncated(pos, "the header of a fun")
    end = pos + size
    if end > len(data) or size < 4 + FUN_HEAD.size:
        _truncated(pos, f"a fun of {size} bytes")
    module, at = _atom_text(s, pos + 4 + FUN_HEAD.size, "the module of a fun")
    _old_index, at = s._term(at)
    _old_uniq, at = s._term(at)
    creator, at = s._term(at)
    if not isinstance(creator, Pid):
        raise DecodeError(
            f"expected the pid that created a fun, got {safe_repr(creator, _SHOWN)}", at
        )
    free, at = _elements(s, at, num_free, "a fun's free variables")
    if at != end:
        raise DecodeError(f"a fun claims {size} bytes but holds {at - pos}", pos)
    return _new_fun(module, arity, tuple(free), data[pos - 1 : end]), end


for _tag, _fn in {
    SMALL_INTEGER: _d_small_integer,
    INTEGER: _d_integer,
    SMALL_BIG: _d_small_big,
    LARGE_BIG: _d_large_big,
    NEW_FLOAT: _d_new_float,
    FLOAT: _d_float,
    ATOM_UTF8: _d_atom_utf8,
    SMALL_ATOM_UTF8: _d_small_atom_utf8,
    ATOM: _d_atom,
    SMALL_ATOM: _d_small_atom,
    SMALL_TUPLE: _d_small_tuple,
    LARGE_TUPLE: _d_large_tuple,
    NIL: _d_nil,
    STRING: _d_string,
    LIST: _d_list,
    MAP: _d_map,
    BINARY: _d_binary,
    BIT_BINARY: _d_bit_binary,
    NEW_PID: _d_new_pid,
    PID: _d_pid,
    NEWER_REFERENCE: _d_newer_reference,
    NEW_REFERENCE: _d_new_reference,
    REFERENCE: _d_reference,
    V4_PORT: _d_v4_port,
    NEW_PORT: _d_new_port,
    PORT: _d_port,
    EXPORT: _d_export,
    NEW_FUN: _d_new_fun,
}.items():
    _DECODERS[_tag] = _fn


class _PidUnpickler(pickle.Unpickler):
    """Unpickles pids (pickled as their external form) through the decoder."""

    def __init__(self, file: io.BytesIO, decoder: Decoder) -> None:
        super().__init__(file)
        self._decoder = decoder

    def persistent_load(self, pid: object) -> object:
        if not isinstance(pid, bytes):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        value, _ = self._decoder.decode_from(pid, 0)
        return value
