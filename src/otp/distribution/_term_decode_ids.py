"""Decoding pids, references, ports and funs.

Their node (and a fun's module) is an atom that must stay text: `_atom_text`
reads it. A pid is built by the session's `pids` hook; a fun is kept as its
exact bytes, its fields decoded only to validate them.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .._runtime._ids import Pid, _new_ref
from .._runtime._repr import safe_repr
from .._runtime._terms import (
    Export,
    _new_fun,
    _new_port,
)
from ._term_decode_containers import _elements
from ._term_decode_scalars import _atom_text
from ._term_decode_table import _SHOWN, _truncated
from ._term_format import (
    FUN_HEAD,
    MAX_REF_WORDS,
    OLD_PID_FIELDS,
    OLD_PORT_FIELDS,
    PID_FIELDS,
    PORT_FIELDS,
    REF_WORDS,
    U16,
    U32,
    V4_PORT_FIELDS,
    DecodeError,
)

if TYPE_CHECKING:
    from ._term_decode import Decoder


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
