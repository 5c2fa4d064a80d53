"""Terms nested as deeply as Erlang's, and maps whose keys Python would merge.

Both codecs run every test: the pure one (the reference) and the compiled
one. Values 100,000 levels deep cannot be compared with `==` (it recurses),
so the tests compare what they encode to, against bytes written by hand from
the external term format (as `term_to_binary` writes them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from otp._runtime._repr import safe_repr, show
from otp._runtime._terms import Atom, FrozenList, ImproperList, StrictMap
from otp.distribution import DecodeError, _term_compiled, _term_decode, _term_encode

CODECS = {
    "pure": (_term_encode.encode, _term_decode.decode),
    "compiled": (_term_compiled.encode, _term_compiled.decode),
}
X = b"w\x01x"  # the atom x

# Per kind: wrap a term one level deeper, and the bytes each level adds
# before and after the term it holds (innermost: []).
KINDS: dict[str, tuple[Callable[[object], object], bytes, bytes]] = {
    "list": (lambda t: [t], b"l\x00\x00\x00\x01", b"j"),
    "tuple": (lambda t: (t,), b"h\x01", b""),
    "map": (lambda t: {1: t}, b"t\x00\x00\x00\x01a\x01", b""),
    "improper list": (lambda t: ImproperList([t], Atom("x")), b"l\x00\x00\x00\x01", X),
    "map value in a list": (
        lambda t: [1, {Atom("k"): t}],
        b"l\x00\x00\x00\x02a\x01t\x00\x00\x00\x01w\x01k",
        b"j",
    ),
}


def nested(kind: str, depth: int) -> tuple[object, bytes]:
    """A term `depth` levels deep and its encoding."""
    wrap, before, after = KINDS[kind]
    term: object = []
    for _ in range(depth):
        term = wrap(term)
    return term, b"\x83" + before * depth + b"j" + after * depth


def mixed(depth: int) -> tuple[object, bytes]:
    """Each level a different kind, in turn."""
    kinds = list(KINDS.values())
    term: object = []
    before, after = [], []
    for i in range(depth):
        wrap, b, a = kinds[i % len(kinds)]
        term = wrap(term)
        before.append(b)
        after.append(a)
    return term, b"\x83" + b"".join(reversed(before)) + b"j" + b"".join(after)


def depth_of(term: object) -> int:
    """How many containers deep the first chain of `term` goes (without recursing)."""
    depth = 0
    while True:
        if type(term) is list and term:
            term = term[-1] if type(term[0]) is int else term[0]
        elif type(term) is tuple and term:
            term = term[0]
        elif type(term) is dict and term:
            (term,) = term.values()
        elif type(term) is ImproperList:
            term = term.items[0]
        else:
            return depth
        depth += 1


@pytest.mark.parametrize("codec", CODECS)
class TestDeepTerms:
    @pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
    @pytest.mark.parametrize("kind", KINDS)
    def test_a_deep_term_encodes_as_erlang_does_and_decodes_back(
        self, codec: str, kind: str, depth: int
    ) -> None:
        encode, decode = CODECS[codec]
        term, data = nested(kind, depth)
        assert encode(term) == data
        value = decode(data)
        assert depth_of(value) == depth_of(term)
        assert encode(value) == data

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    def test_a_deep_term_of_mixed_kinds_round_trips(self, codec: str, depth: int) -> None:
        encode, decode = CODECS[codec]
        term, data = mixed(depth)
        assert encode(term) == data
        assert encode(decode(data)) == data

    @pytest.mark.parametrize("kind", KINDS)
    def test_truncated_deep_input_raises_decode_error(self, codec: str, kind: str) -> None:
        _, decode = CODECS[codec]
        _, data = nested(kind, 100_000)
        with pytest.raises(DecodeError, match="input ends before"):
            decode(data[:-1])

    def test_a_long_chain_of_list_tails_decodes_as_one_list(self, codec: str) -> None:
        # [1 | [2 | [3 | ...]]] written as nested LIST_EXT tails (legal, not canonical)
        _, decode = CODECS[codec]
        data = b"\x83" + b"l\x00\x00\x00\x01a\x07" * 100_000 + b"j"
        assert decode(data) == [7] * 100_000

    def test_a_deep_term_that_does_not_fit_python_s_stack_is_shown_without_raising(
        self, codec: str
    ) -> None:
        _, decode = CODECS[codec]
        value = decode(nested("improper list", 100_000)[1])
        assert show(value) and safe_repr(value)


class TestDeepTermsAgree:
    @pytest.mark.parametrize("kind", KINDS)
    def test_both_codecs_fail_a_deep_truncated_input_with_the_same_error(self, kind: str) -> None:
        _, data = nested(kind, 10_000)
        errors = []
        for _, decode in CODECS.values():
            with pytest.raises(DecodeError) as info:
                decode(data[:-3])
            errors.append((str(info.value), info.value.offset))
        assert errors[0] == errors[1]

    def test_the_deep_decoder_gives_what_the_recursive_one_gives_on_shallow_terms(self) -> None:
        from otp.distribution._term_decode_deep import deep_term

        for data in [
            b"\x83l\x00\x00\x00\x02a\x01l\x00\x00\x00\x00l\x00\x00\x00\x01a\x02k\x00\x01\x03",
            b"\x83l\x00\x00\x00\x02a\x01l\x00\x00\x00\x00l\x00\x00\x00\x01a\x02k\x00\x01\x03j",
            b"\x83l\x00\x00\x00\x01a\x01l\x00\x00\x00\x01a\x02w\x01x",
            b"\x83h\x03a\x01a",
            b"\x83l\x00\x00\x00\x03a\x01F\x00",
            b"\x83l\x00\x00\x00\x01a\x01l\x00\x00\x00\x00t\x00\x00\x00\x00",
            b"\x83h\x02w\x01ah\x00",
            b"\x83t\x00\x00\x00\x02a\x01w\x01aF?\xf0\x00\x00\x00\x00\x00\x00w\x01b",
            b"\x83t\x00\x00\x00\x01l\x00\x00\x00\x01a\x01jj",
        ]:
            decoder = _term_decode.Decoder()
            decoder._data = data
            deep = outcome(partial(deep_term, decoder, 1))
            assert deep == outcome(partial(decoder.decode_from, data)), data


def outcome(fn: Callable[[], object]) -> object:
    """A call's value, or its error's message."""
    try:
        return fn()
    except DecodeError as exc:
        return str(exc)


# Erlang's bytes for the maps below (term_to_binary on OTP 26; keys in
# Erlang's map order: numbers before atoms before binaries, 1 before 1.0).
ONE_AND_ONE_FLOAT = b"\x83t\x00\x00\x00\x02a\x01w\x01aF?\xf0\x00\x00\x00\x00\x00\x00w\x01b"
ATOM_AND_BINARY = b"\x83t\x00\x00\x00\x02w\x01aa\x01m\x00\x00\x00\x01aa\x02"
TRUE_AND_ONE = b"\x83t\x00\x00\x00\x02a\x01w\x01yw\x04truew\x01x"
NESTED = b"\x83t\x00\x00\x00\x02h\x01a\x01w\x01ah\x01F?\xf0\x00\x00\x00\x00\x00\x00w\x01b"


@pytest.mark.parametrize("codec", CODECS)
class TestStrictMap:
    def test_one_and_one_point_zero_stay_two_keys(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        value = decode(ONE_AND_ONE_FLOAT)
        assert isinstance(value, StrictMap) and len(value) == 2
        assert value[1] == Atom("a") and value[1.0] == Atom("b")
        assert encode(value) == ONE_AND_ONE_FLOAT

    def test_the_atom_a_and_the_binary_a_stay_two_keys(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        value = decode(ATOM_AND_BINARY)
        assert isinstance(value, StrictMap)
        assert value[Atom("a")] == 1 and value["a"] == 2
        assert list(value.items()) == [(Atom("a"), 1), ("a", 2)]
        assert encode(value) == ATOM_AND_BINARY

    def test_true_and_one_stay_two_keys(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        value = decode(TRUE_AND_ONE)
        assert isinstance(value, StrictMap)
        assert value[True] == Atom("x") and value[1] == Atom("y")
        assert encode(value) == TRUE_AND_ONE

    def test_keys_that_collide_inside_tuples_stay_two_keys(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        value = decode(NESTED)
        assert isinstance(value, StrictMap)
        assert value[(1,)] == Atom("a") and value[(1.0,)] == Atom("b")
        assert encode(value) == NESTED

    def test_a_map_without_colliding_keys_stays_a_dict(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        data = encode({FrozenList([1]): 1, (1,): 2})  # a list key and a tuple key differ
        assert type(decode(data)) is dict

    def test_a_strict_map_inside_a_term_round_trips(self, codec: str) -> None:
        encode, decode = CODECS[codec]
        term = [StrictMap([(0, 1), (0.0, 2), (False, 3)]), (StrictMap([(1, 2)]),)]
        # a StrictMap whose keys a dict would not merge comes back as a dict
        assert decode(encode(term)) == [term[0], ({1: 2},)]

    def test_the_same_key_twice_raises_decode_error(self, codec: str) -> None:
        _, decode = CODECS[codec]
        with pytest.raises(DecodeError, match="same key twice"):
            decode(b"\x83t\x00\x00\x00\x02a\x01a\x02a\x01a\x03")


class TestStrictMapValue:
    def test_keys_compare_as_erlang_exact_equality(self) -> None:
        m = StrictMap([(1, "int"), (1.0, "float"), (True, "atom"), (Atom("a"), "atom a")])
        assert (m[1], m[1.0], m[True], m[Atom("a")]) == ("int", "float", "atom", "atom a")
        assert "a" not in m and 0.0 not in m and [1] not in m
        with pytest.raises(KeyError):
            m["a"]

    def test_lists_and_frozen_lists_are_the_same_key(self) -> None:
        m = StrictMap([(FrozenList([1]), "list"), ((1,), "tuple")])
        assert m[[1]] == "list" and m[(1,)] == "tuple"

    def test_equality_is_by_exact_pairs_in_any_order(self) -> None:
        a = StrictMap([(1, "x"), (1.0, "y")])
        assert a == StrictMap([(1.0, "y"), (1, "x")])
        assert a != StrictMap([(1, "x"), (1.0, "x")])
        assert a != {1: "x"} and hash(a) == hash(StrictMap([(1.0, "y"), (1, "x")]))

    def test_it_can_be_a_map_key(self) -> None:
        key = StrictMap([(1, [2]), (1.0, 3)])
        assert {key: 1}[StrictMap([(1.0, 3), (1, [2])])] == 1

    def test_its_repr_shows_every_pair(self) -> None:
        assert repr(StrictMap([(1, 2), (1.0, 3)])) == "StrictMap([(1, 2), (1.0, 3)])"

    def test_exactly_equal_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="twice"):
            StrictMap([(1, 2), (1, 3)])
