# The compiled fast path of the term codec (_term_c.c), set up by _term_compiled.py.
from collections.abc import Callable

def _setup(
    *,
    Atom: type,
    ImproperList: type,
    FrozenList: type,
    Pid: type,
    Ref: type,
    atoms: dict[bytes | tuple[bytes], object],
    atoms_limit: int,
    freeze: Callable[[object], object],
    new_ref: Callable[..., object],
    new_remote_pid: Callable[..., object],
    decoders: list[Callable[..., tuple[object, int]]],
    decode_from: Callable[..., tuple[object, int]],
    intern_pid: Callable[..., object],
    encode: Callable[[object], bytes],
    encode_into: Callable[[object, bytearray], None],
) -> None: ...
def encode(term: object, /) -> bytes: ...

decoder_decode_from: Callable[..., tuple[object, int]]
