"""The tag table of the decoder and the errors its functions raise.

Every tag function takes the session (a `Decoder`) and the offset just
past its tag and returns `(value, next offset)`; `_DECODERS` finds it by
the tag byte. The table starts with every entry refusing its tag, and
`_term_decode` fills in the tags of the format once all are defined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from ._term_format import (
    ATOM_CACHE_REF,
    COMPRESSED,
    FUN,
    LOCAL,
    VERSION,
    DecodeError,
)

if TYPE_CHECKING:
    from ._term_decode import Decoder


ByteString = bytes | bytearray | memoryview
"""What the decoder reads; `bytes` is read in place, the others are copied first."""

_DecodeFn = Callable[["Decoder", int], tuple[object, int]]

#: How much of a bad value an error message shows (printing a value may raise).
_SHOWN = 200


def _truncated(pos: int, what: str) -> NoReturn:
    raise DecodeError(f"input ends before {what}", pos)


def _too_long(s: Decoder, pos: int, count: int, what: str) -> None:
    """Fail at once when `count` elements (of one byte or more) cannot fit."""
    if count > len(s._data) - pos:
        _truncated(pos, f"{what} of {count} elements")


def _d_unsupported(s: Decoder, pos: int) -> tuple[object, int]:
    tag = s._data[pos - 1]
    reason = _UNSUPPORTED.get(tag, "not a tag of the external term format")
    raise DecodeError(f"cannot decode tag {tag}: {reason}", pos - 1)


_UNSUPPORTED = {
    VERSION: "a version byte inside a term",
    COMPRESSED: "compressed data is only allowed right after the version byte",
    ATOM_CACHE_REF: "atom cache references need the distribution atom cache, not negotiated",
    FUN: "FUN_EXT is the pre-OTP-23 fun format",
    LOCAL: "LOCAL_EXT terms can only be decoded by the node that encoded them",
}

_DECODERS: list[_DecodeFn] = [_d_unsupported] * 256
"""The decoding function of each tag, filled in by `_term_decode`."""
