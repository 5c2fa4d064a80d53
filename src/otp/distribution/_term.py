"""Erlang's external term format: `encode` Python values, `decode` Erlang terms.

This is the byte format of `term_to_binary/1` and of every message between
distributed nodes. Each encoded term starts with the version byte 131.

>>> from otp.distribution import Atom, decode, encode
>>> encode((Atom("ok"), 1, "hi"))
b'\\x83h\\x03w\\x02oka\\x01m\\x00\\x00\\x00\\x02hi'
>>> decode(encode({"key": [1.5, None, True]}))
{'key': [1.5, None, True]}

Mapping between Erlang terms and Python values:

=============================  ===============================  ==========================
Erlang                          Python (decode gives)            Python (encode accepts)
=============================  ===============================  ==========================
atom `ok`                       `Atom("ok")` (a `str`)           `Atom`
atoms `true` / `false`          `True` / `False`                 `bool`
atom `nil` (Elixir's nil)       `None`                           `None`
atom `undefined`                `Atom("undefined")`              `Atom("undefined")`
integer                         `int`                            `int` (any size)
float                           `float`                          finite `float`
tuple `{a, 1}`                  `tuple`                          `tuple`
list `[1, 2]`, `"abc"`          `list` (a charlist is a list     `list`
                                of ints, as Erlang sees it)
improper list `[a | b]`         `ImproperList([a], b)`           `ImproperList`
map `#{k => v}`                 `dict` (keys that are lists or   `dict`
                                maps become `FrozenList` /
                                `FrozenMap`)
map `#{1 => a, 1.0 => b}`       `StrictMap`, only when a dict    `StrictMap`
(keys equal in Python)          would merge keys
binary `<<"text">>`             `str` when valid UTF-8,          `str` (as UTF-8), `bytes`
                                else `bytes`
bitstring `<<1:3>>`             `BitBinary`                      `BitBinary`
pid                             `otp.Pid`                        `otp.Pid`
reference                       `otp.Ref`                        `otp.Ref`
port                            `otp.Port`                       `otp.Port`
`fun M:F/A`                     `Export`                         `Export`
`fun(X) -> ... end`             `Fun` (opaque, echoed as is)     `Fun`
`{'$otp_pickle', <<Bytes>>}`    the unpickled Python value       anything else
`{'$otp_exception', ...}`       the exception                    an exception
=============================  ===============================  ==========================

Consequences worth knowing:

- Only `nil` becomes `None`; Erlang's `undefined` stays an atom. Python's
  `None` always encodes as `nil`, which is what Elixir expects.
- `str` is a binary, never an atom or a charlist: send `Atom("ok")` where
  Erlang expects the atom `ok`. `Atom` equals `str` with the same text, so
  code that matches on `"ok"` works for both.
- A map with keys that differ in Erlang but are equal in Python (the atom
  `a` and the binary `"a"`, `1` and `1.0`, `true` and `1`) cannot be a
  `dict`: it decodes as a `StrictMap`, a read-only mapping whose keys
  compare as Erlang's `=:=` (`m[1]` and `m[1.0]` are different entries),
  and encodes back to the same map. Every other map is a `dict`.
- Lists of integers 0..255 encode as `STRING_EXT`, as Erlang does, and come
  back as lists of ints. Only exact types map: subclasses (an `IntEnum`, a
  `NamedTuple`, a `dict` subclass), sets, dataclasses, infinities, NaN and
  other objects are pickled so that they travel intact between `otp` nodes.
  To an Erlang node they are the tuple `{'$otp_pickle', Binary}`.
- An exception (a crash reason in an exit signal, say) is sent as
  `{'$otp_exception', <<"ValueError">>, <<"boom">>, Binary}`: Erlang and
  Elixir can read its class and message; an `otp` node gets the exception.

Wire forms: atoms are written as UTF-8 (`SMALL_ATOM_UTF8_EXT`), pids as
`NEW_PID_EXT`, references as `NEWER_REFERENCE_EXT`, ports as `NEW_PORT_EXT`
while the id fits 32 bits and `V4_PORT_EXT` beyond (as Erlang does), maps in
the dict's order, and a fun exactly as it arrived. Every older form is read:
Latin-1 atoms (`term_to_binary/1` on OTP 25 still writes them), `PID_EXT`,
`REFERENCE_EXT`, `NEW_REFERENCE_EXT`, `PORT_EXT`, text floats (`FLOAT_EXT`)
and zlib-compressed terms (`term_to_binary(T, [compressed])`).

Security: unpickling runs code chosen by the sender. Distribution only
accepts connections from nodes that know the cookie, so pickles from a
connection come from a trusted node. For bytes from anywhere else, decode
with `allow_pickle=False`: the pickle tuple is then returned as it is.

Pids: pids compare by identity. `decode` takes a `pids` hook
`(node, id, serial, creation) -> Pid` so the connection layer can hand back
the local process for a pid of this node; by default each decoding session
(one `decode` call, or one `Decoder` object) builds remote pids and interns
them, so within a session equal pids are the same object. Pids inside a
pickled object travel in their Erlang form and go through the same hook.

Two implementations, one behaviour: `otp.distribution.codec` says which is in use.
`"compiled"` is a C extension built by `pip install` on a machine with a C
compiler; it decodes and encodes the common terms itself and hands the
rest to the pure-Python codec, so its results and errors are the same.
`"python"` is the pure-Python codec: used when the extension was not built,
or when the environment variable `OTP_PURE_PYTHON=1` is set at import.

>>> import otp.distribution
>>> otp.distribution.codec in ("compiled", "python")
True

Not supported: the atom cache (`ATOM_CACHE_REF`), `LOCAL_EXT` (its contents
are only meaningful to the node that made it) and the pre-OTP-23 `FUN_EXT`.
Nesting: terms nested as deeply as Erlang's own (100,000 levels and more)
decode and encode, without touching the recursion limit: the codecs
recurse for ordinary terms and, past the depth that Python's stack allows,
redo the term with an explicit stack.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Literal

from . import _term_compiled
from ._term_format import DecodeError as DecodeError
from ._term_format import PidHook as PidHook

_COMPILED = _term_compiled.AVAILABLE and os.environ.get("OTP_PURE_PYTHON") != "1"

codec: Final[Literal["compiled", "python"]] = "compiled" if _COMPILED else "python"
"""Which codec `encode`, `decode`, `decode_from` and `Decoder` use (see above)."""

if TYPE_CHECKING or not _COMPILED:
    from ._term_decode import Decoder as Decoder
    from ._term_decode import decode as decode
    from ._term_decode import decode_from as decode_from
    from ._term_encode import encode as encode
else:
    from ._term_compiled import Decoder as Decoder
    from ._term_compiled import decode as decode
    from ._term_compiled import decode_from as decode_from
    from ._term_compiled import encode as encode

__all__ = ["DecodeError", "Decoder", "PidHook", "codec", "decode", "decode_from", "encode"]
