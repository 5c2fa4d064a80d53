"""Constants of the external term format shared by the encoder and decoder."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from .._runtime._ids import Pid
from .._runtime._terms import Atom

PidHook = Callable[[str, int, int, int], Pid]
"""`(node, id, serial, creation) -> Pid`: how a decoder turns pid fields into a pid."""

VERSION: Final = 131
PICKLE_TAG: Final = Atom("$otp_pickle")
#: `{'$otp_exception', ClassName, Message, Pickle}`: an exception Erlang can read.
EXCEPTION_TAG: Final = Atom("$otp_exception")
MAX_REF_WORDS: Final = 5

# Tags of the external term format.
COMPRESSED: Final = 80
NEW_FLOAT: Final = 70
BIT_BINARY: Final = 77
ATOM_CACHE_REF: Final = 82
NEW_PID: Final = 88
NEW_PORT: Final = 89
NEWER_REFERENCE: Final = 90
SMALL_INTEGER: Final = 97
INTEGER: Final = 98
FLOAT: Final = 99
ATOM: Final = 100
REFERENCE: Final = 101
PORT: Final = 102
PID: Final = 103
SMALL_TUPLE: Final = 104
LARGE_TUPLE: Final = 105
NIL: Final = 106
STRING: Final = 107
LIST: Final = 108
BINARY: Final = 109
SMALL_BIG: Final = 110
LARGE_BIG: Final = 111
NEW_FUN: Final = 112
EXPORT: Final = 113
NEW_REFERENCE: Final = 114
SMALL_ATOM: Final = 115
MAP: Final = 116
FUN: Final = 117
ATOM_UTF8: Final = 118
SMALL_ATOM_UTF8: Final = 119
V4_PORT: Final = 120
LOCAL: Final = 121

U16: Final = struct.Struct(">H")
U32: Final = struct.Struct(">I")
I32: Final = struct.Struct(">i")
F64: Final = struct.Struct(">d")
PID_FIELDS: Final = struct.Struct(">III")  # id, serial, creation
OLD_PID_FIELDS: Final = struct.Struct(">IIB")
PORT_FIELDS: Final = struct.Struct(">II")  # id, creation
V4_PORT_FIELDS: Final = struct.Struct(">QI")
OLD_PORT_FIELDS: Final = struct.Struct(">IB")  # also an old reference: id, creation
FUN_HEAD: Final = struct.Struct(">B16sII")  # arity, uniq, index, number of free variables
REF_WORDS: Final = [struct.Struct(f">{n}I") for n in range(MAX_REF_WORDS + 1)]


class DecodeError(ValueError):
    """The bytes are not a valid external term (or not one Python can hold).

    `offset` is where in the input the problem was found.

    >>> from otp.distribution import decode
    >>> decode(b"\\x83m\\x00\\x00\\x00\\x09abc")
    Traceback (most recent call last):
    ...
    otp.distribution._term_format.DecodeError: input ends before a binary of 9 bytes (at offset 2)
    """

    offset: int

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.offset = offset
