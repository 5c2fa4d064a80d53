"""The compiled term codec: `_term_c` plugged into the pure codec.

`_term_c` (C, built by `pip install`) decodes and encodes the common terms
itself and hands everything else to the pure-Python codec, which stays the
reference: results, errors and the behaviour on deeply nested terms are
the pure codec's (see the header of `_term_c.c` for how). This module
gives it the pure codec's types and functions, and offers the same
`Decoder`, `decode`, `decode_from` and `encode` as the pure modules.

`AVAILABLE` is False when the extension was not built (no C compiler at
install time); the functions here then are the pure ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._runtime._ids import Pid, Ref, _new_ref, _new_remote_pid
from .._runtime._terms import Atom, FrozenList, ImproperList, freeze
from . import _term_decode, _term_encode
from ._term_decode_scalars import _ATOMS, _ATOMS_LIMIT
from ._term_decode_table import _DECODERS, ByteString
from ._term_format import PidHook

try:
    from . import _term_c
except ImportError:  # installed without a C compiler: the pure codec only
    AVAILABLE = False
else:
    AVAILABLE = True
    _term_c._setup(
        Atom=Atom,
        ImproperList=ImproperList,
        FrozenList=FrozenList,
        Pid=Pid,
        Ref=Ref,
        atoms=_ATOMS,
        atoms_limit=_ATOMS_LIMIT,
        freeze=freeze,
        new_ref=_new_ref,
        new_remote_pid=_new_remote_pid,
        decoders=_DECODERS,
        decode_from=_term_decode.Decoder.decode_from,
        intern_pid=_term_decode.Decoder._intern_pid,
        encode=_term_encode.encode,
        encode_into=_term_encode._encode,
    )


class Decoder(_term_decode.Decoder):
    """A decoding session, as `otp.distribution.Decoder`, decoding with the compiled code."""

    __slots__ = ()

    if AVAILABLE and not TYPE_CHECKING:
        decode_from = _term_c.decoder_decode_from


def decode(data: ByteString, *, pids: PidHook | None = None, allow_pickle: bool = True) -> object:
    """As `otp.distribution.decode`, with the compiled decoder."""
    return Decoder(pids=pids, allow_pickle=allow_pickle).decode(data)


def decode_from(
    data: ByteString, offset: int = 0, *, pids: PidHook | None = None, allow_pickle: bool = True
) -> tuple[object, int]:
    """As `otp.distribution.decode_from`, with the compiled decoder."""
    return Decoder(pids=pids, allow_pickle=allow_pickle).decode_from(data, offset)


encode = _term_c.encode if AVAILABLE else _term_encode.encode
