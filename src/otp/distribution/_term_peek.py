"""Reading who waits for a call whose request cannot be decoded: `peek_call`.

A `gen_server:call` from Erlang arrives as `{'$gen_call', {Caller, Tag},
Request}`. When the whole message cannot be decoded (a request holding a
term this node refuses), the caller would wait for its timeout; the
connection reads just the caller and the tag with `peek_call` and fails the
call at once, with a reason naming the problem.
"""

from __future__ import annotations

from ._term_decode import Decoder
from ._term_format import SMALL_TUPLE, VERSION, DecodeError

_GEN_CALL = "$gen_call"


def peek_call(
    data: bytes, offset: int, decoder: Decoder, *, version_byte: bool = True
) -> tuple[object, object] | None:
    """`(Caller, Tag)` of the `{'$gen_call', {Caller, Tag}, Request}` at `offset`, or None.

    Reads only the start of the term: the request after the tag may be
    malformed, truncated or missing. `decoder` (the connection's, with its
    `pids` hook) decodes the caller and the tag, so the caller is the same
    pid as in any other message. `version_byte` is as for
    `Decoder.decode_from`.

    >>> from otp.distribution import Atom, encode
    >>> data = encode((Atom("$gen_call"), (Atom("from"), Atom("tag")), 1))
    >>> peek_call(data[:-2], 0, Decoder())
    (Atom('from'), Atom('tag'))

    Returns None when the term is not such a call, or its caller or tag
    cannot be decoded.
    """
    pos = offset
    if version_byte:
        if data[pos : pos + 1] != bytes((VERSION,)):
            return None
        pos += 1
    # {'$gen_call', {Caller, Tag}, Request}: a 3-tuple whose first element is
    # the atom '$gen_call' and whose second is a 2-tuple.
    if data[pos : pos + 2] != bytes((SMALL_TUPLE, 3)):
        return None
    try:
        first, pos = decoder.decode_from(data, pos + 2, version_byte=False)
        if not isinstance(first, str) or first != _GEN_CALL or type(first) is str:
            return None
        if data[pos : pos + 2] != bytes((SMALL_TUPLE, 2)):
            return None
        caller, pos = decoder.decode_from(data, pos + 2, version_byte=False)
        tag, _ = decoder.decode_from(data, pos, version_byte=False)
    except DecodeError:
        return None
    return caller, tag
