"""Properties of the term codec: round trips, and no crash on any input.

Round trip: every value of the mapped types survives `encode` then `decode`
(after the documented normalisations: atoms `true`/`false`/`nil` become
Python constants, bytes that are valid UTF-8 become `str`).

Fuzz: whatever the bytes (random, truncated, or a valid term with bytes
changed), `decode` returns a value or raises `DecodeError`, nothing else.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from term_helpers import VECTORS, pid, ref, same

from otp._runtime._terms import _new_port
from otp.distribution import (
    Atom,
    BitBinary,
    DecodeError,
    Export,
    FrozenList,
    FrozenMap,
    ImproperList,
    decode,
    decode_from,
    encode,
)

SPECIAL = {"true": True, "false": False, "nil": None}

atoms = st.text(max_size=20).map(Atom) | st.sampled_from(
    [Atom("ok"), Atom("true"), Atom("nil"), Atom("é" * 255)]
)
nodes = st.sampled_from(["a@b", "py@127.0.0.1", "nonode@nohost", "ñ@host"])
u32 = st.integers(0, 2**32 - 1)
pids = st.builds(pid, nodes, u32, u32, u32)
refs = st.builds(ref, nodes, u32, st.lists(u32, min_size=1, max_size=5))
ports = st.builds(_new_port, nodes, st.integers(0, 2**64 - 1), u32)
bits = st.builds(BitBinary, st.binary(min_size=1, max_size=8), st.integers(1, 8))
exports = st.builds(Export, st.text(max_size=9), st.text(max_size=9), st.integers(0, 255))

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**3000), 2**3000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary()
    | atoms
    | pids
    | refs
    | ports
    | bits
    | exports
)
# Keys leave out the atoms true/false/nil: decoded as True/False/None they
# could collide with 1 and 0 in a dict (a documented DecodeError).
key_atoms = st.text(max_size=5).filter(lambda t: t not in SPECIAL).map(Atom)
keys = st.recursive(
    st.integers() | st.text(max_size=5) | key_atoms,
    lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3).map(FrozenList),
    max_leaves=4,
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=5).map(tuple)
        | st.dictionaries(keys, inner, max_size=5)
        | st.builds(
            ImproperList,
            st.lists(inner, min_size=1, max_size=3),
            scalars.filter(lambda t: not isinstance(t, list)),
        )
    )


plain_terms = st.recursive(scalars, containers, max_leaves=25)
# Sets have no Erlang form: they are pickled (and a pickle's bytes are not
# stable, so only `plain_terms` re-encode to the very same bytes).
terms = st.recursive(scalars | st.frozensets(st.integers(), max_size=3), containers, max_leaves=25)


def normal(term: object) -> object:
    """What `term` decodes to: the documented normalisations applied."""
    if type(term) is Atom and term in SPECIAL:
        return SPECIAL[term]
    if type(term) is bytes:
        try:
            return term.decode("utf-8")
        except UnicodeDecodeError:
            return term
    if type(term) is tuple:
        return tuple(normal(x) for x in term)
    if type(term) is list:
        return [normal(x) for x in term]
    if type(term) is FrozenList:
        return FrozenList(normal(x) for x in term)
    if type(term) is FrozenMap:
        return FrozenMap({normal(k): normal(v) for k, v in term.items()})
    if type(term) is dict:
        return {normal(k): normal(v) for k, v in term.items()}
    if type(term) is ImproperList:
        return ImproperList([normal(x) for x in term.items], normal(term.tail))
    return term


# derandomize: the same examples on every run, so a failure always reproduces.
FAST = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
FUZZ = settings(max_examples=1500, deadline=None, derandomize=True)


@FAST
@given(terms)
def test_every_mapped_value_survives_a_round_trip(term: object) -> None:
    assert same(decode(encode(term)), normal(term))


@FAST
@given(plain_terms)
def test_re_encoding_a_decoded_value_gives_the_same_bytes(term: object) -> None:
    data = encode(term)
    assert encode(decode(data)) == data


@settings(FAST, max_examples=100)
@given(st.lists(terms, min_size=1, max_size=4))
def test_concatenated_terms_decode_one_after_the_other(items: list[object]) -> None:
    chunks = [encode(item) for item in items]
    buffer = b"".join(chunks)
    offset = 0
    for item in items:
        value, offset = decode_from(buffer, offset)
        assert same(value, normal(item))
    assert offset == len(buffer)


def decode_or_fail_cleanly(data: bytes) -> None:
    try:
        decode(data, allow_pickle=False)
    except DecodeError:
        pass


@FUZZ
@given(st.binary(max_size=64))
@example(b"\x83")
@example(b"\x83h\x02a\x01")
def test_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    decode_or_fail_cleanly(data)


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes_after_the_version_byte_decode_or_raise_decode_error(data: bytes) -> None:
    decode_or_fail_cleanly(b"\x83" + data)


VALID = [bytes.fromhex(v[form]) for v in VECTORS for form in ("v2", "v1", "compressed")]


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_valid_terms_with_changed_bytes_decode_or_raise_decode_error(
    data: bytes, draw: st.DataObject
) -> None:
    mutated = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        at = draw.draw(st.integers(1, len(mutated) - 1)) if len(mutated) > 1 else 0
        mutated[at] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(mutated)))
    decode_or_fail_cleanly(bytes(mutated[:cut]))


@FAST
@given(terms, st.data())
def test_generated_terms_truncated_or_changed_decode_or_raise_decode_error(
    term: object, draw: st.DataObject
) -> None:
    data = bytearray(encode(term))
    if draw.draw(st.booleans()):
        del data[draw.draw(st.integers(0, len(data) - 1)) :]
    else:
        data[draw.draw(st.integers(0, len(data) - 1))] ^= draw.draw(st.integers(1, 255))
    decode_or_fail_cleanly(bytes(data))
