"""Erlang distribution: talk to Erlang and Elixir nodes (opt-in: `import otp.distribution`).

The external term format codec: `encode`, `decode` and `decode_from` (`codec`
says whether the compiled or the pure-Python implementation runs them), and the
term values without an exact Python counterpart (see `otp.distribution._term` for the
full mapping between Erlang terms and Python values).
"""

from .._runtime._terms import Atom as Atom
from .._runtime._terms import BitBinary as BitBinary
from .._runtime._terms import Export as Export
from .._runtime._terms import FrozenList as FrozenList
from .._runtime._terms import FrozenMap as FrozenMap
from .._runtime._terms import Fun as Fun
from .._runtime._terms import ImproperList as ImproperList
from .._runtime._terms import Port as Port
from .._runtime._terms import StrictMap as StrictMap
from ._term import DecodeError as DecodeError
from ._term import Decoder as Decoder
from ._term import PidHook as PidHook
from ._term import codec as codec
from ._term import decode as decode
from ._term import decode_from as decode_from
from ._term import encode as encode

__all__ = [
    "Atom",
    "BitBinary",
    "DecodeError",
    "Decoder",
    "Export",
    "FrozenList",
    "FrozenMap",
    "Fun",
    "ImproperList",
    "PidHook",
    "Port",
    "StrictMap",
    "codec",
    "decode",
    "decode_from",
    "encode",
]
