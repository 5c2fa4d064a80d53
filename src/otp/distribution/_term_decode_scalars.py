"""Decoding the terms that hold no other terms: numbers, atoms, binaries.

Atoms are memoised by their bytes in `_ATOMS`, shared by every decoder
(the compiled one too), since atoms are immutable values.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .._runtime._repr import safe_repr
from .._runtime._terms import (
    Atom,
    BitBinary,
)
from ._term_decode_table import _SHOWN, _truncated
from ._term_format import (
    F64,
    I32,
    U16,
    U32,
    DecodeError,
)

if TYPE_CHECKING:
    from ._term_decode import Decoder


# Decoded atoms by their bytes (Latin-1 ones by a 1-tuple of their bytes, so
# that no UTF-8 atom, valid or not, finds them: the Latin-1 atom <<254>> must
# not answer for the invalid UTF-8 atom <<255, 254>>). Atoms are immutable
# values, so every decoder shares this memo; it is emptied when it reaches
# its size limit.
_ATOMS: dict[bytes | tuple[bytes], object] = {}
_ATOMS_LIMIT = 4096
_SPECIAL_ATOMS: dict[str, object] = {"true": True, "false": False, "nil": None}
_MISSING = object()

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
