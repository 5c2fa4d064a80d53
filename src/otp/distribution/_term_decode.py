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

The parts: this module is the session (`Decoder`) and fills in the table;
`_term_decode_table` holds the table and the truncation errors, and the tag
functions live in `_term_decode_scalars` (numbers, atoms, binaries),
`_term_decode_containers` (tuples, lists, maps) and `_term_decode_ids`
(pids, references, ports, funs).
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib

from .._runtime._ids import Pid, _new_remote_pid
from .._runtime._repr import safe_repr
from ._term_decode_containers import (
    _d_large_tuple,
    _d_list,
    _d_map,
    _d_nil,
    _d_small_tuple,
    _d_string,
)
from ._term_decode_deep import deep_term
from ._term_decode_ids import (
    _d_export,
    _d_new_fun,
    _d_new_pid,
    _d_new_port,
    _d_new_reference,
    _d_newer_reference,
    _d_pid,
    _d_port,
    _d_reference,
    _d_v4_port,
)
from ._term_decode_scalars import (
    _d_atom,
    _d_atom_utf8,
    _d_binary,
    _d_bit_binary,
    _d_float,
    _d_integer,
    _d_large_big,
    _d_new_float,
    _d_small_atom,
    _d_small_atom_utf8,
    _d_small_big,
    _d_small_integer,
)
from ._term_decode_table import (
    _DECODERS,
    _SHOWN,
    ByteString,
    _DecodeFn,
    _truncated,
)
from ._term_format import (
    ATOM,
    ATOM_UTF8,
    BINARY,
    BIT_BINARY,
    COMPRESSED,
    EXPORT,
    FLOAT,
    INTEGER,
    LARGE_BIG,
    LARGE_TUPLE,
    LIST,
    MAP,
    NEW_FLOAT,
    NEW_FUN,
    NEW_PID,
    NEW_PORT,
    NEW_REFERENCE,
    NEWER_REFERENCE,
    NIL,
    PID,
    PORT,
    REFERENCE,
    SMALL_ATOM,
    SMALL_ATOM_UTF8,
    SMALL_BIG,
    SMALL_INTEGER,
    SMALL_TUPLE,
    STRING,
    U32,
    V4_PORT,
    VERSION,
    DecodeError,
    PidHook,
)


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
        start = offset
        try:
            if version_byte:
                if offset >= len(data) or data[offset] != VERSION:
                    got = data[offset] if offset < len(data) else "end of input"
                    raise DecodeError(f"expected the version byte 131, got {got}", offset)
                offset += 1
                if offset < len(data) and data[offset] == COMPRESSED:
                    return self._decompress(offset + 1, Decoder._term)
            return self._term(offset)
        except RecursionError:
            pass  # nested deeper than Python's stack allows: decoded again below
        finally:
            self._data = saved
        return self._decode_deep(data, start, version_byte)

    def _decode_deep(self, data: bytes, offset: int, version_byte: bool) -> tuple[object, int]:
        """`decode_from` with an explicit stack (see `_term_decode_deep`)."""
        saved = self._data
        self._data = data
        try:
            if version_byte:  # checked by the first attempt
                offset += 1
                if offset < len(data) and data[offset] == COMPRESSED:
                    return self._decompress(offset + 1, deep_term)
            return deep_term(self, offset)
        except RecursionError:
            raise DecodeError(
                "term nested too deeply to decode: funs nested in funs, or a pickle, "
                "nested deeper than Python's recursion limit",
                offset,
            ) from None
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

    def _decompress(self, pos: int, term: _DecodeFn) -> tuple[object, int]:
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
        value, inner_end = term(self, 0)
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
