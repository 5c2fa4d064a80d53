"""The external term format codec, byte-exact against Erlang's `term_to_binary`.

The reference bytes in `term_vectors.json` come from a real Erlang/OTP node
(see `make_term_vectors.py`), so these tests need no Erlang at run time.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
import zlib
from typing import Any

import pytest
from term_helpers import VECTORS, expected, pid, ref, same

import otp
from otp import Pid
from otp.distribution import (
    Atom,
    BitBinary,
    DecodeError,
    Decoder,
    Export,
    FrozenList,
    FrozenMap,
    ImproperList,
    StrictMap,
    decode,
    decode_from,
    encode,
)

GOOD = [v for v in VECTORS if v["python"] != "DecodeError"]
FORMS = ["v2", "v1", "v0", "compressed", "crafted"]


def vector_forms() -> list[Any]:
    return [
        pytest.param(v, form, id=f"{v['name']}-{form}") for v in GOOD for form in FORMS if form in v
    ]


@dataclasses.dataclass
class Job:
    name: str
    owner: Pid
    tags: set[str]


class Color(enum.IntEnum):
    RED = 1


class TestDecode:
    @pytest.mark.parametrize(("vector", "form"), vector_forms())
    def test_erlang_bytes_decode_to_the_documented_python_value(
        self, vector: dict[str, Any], form: str
    ) -> None:
        assert same(decode(bytes.fromhex(vector[form])), expected(vector))

    def test_the_table_covers_every_tag_erlang_sends(self) -> None:
        tags: set[int] = set()
        for vector in VECTORS:
            for form in FORMS:
                if form in vector:
                    tags.update(bytes.fromhex(vector[form])[1:2])
        needed = {70, 77, 80, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106}
        needed |= {107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 118, 119, 120}
        assert needed - tags == set()

    def test_a_map_whose_keys_collide_in_python_decodes_as_a_strict_map(self) -> None:
        (vector,) = [v for v in VECTORS if v["name"] == "map_colliding_keys"]
        data = bytes.fromhex(vector["v2"])
        value = decode(data)
        assert value == StrictMap([(Atom("a"), 1), ("a", 2)])
        assert encode(value) == data

    def test_atoms_true_false_nil_become_python_constants_but_undefined_stays(self) -> None:
        assert decode(encode([Atom("true"), Atom("false"), Atom("nil")])) == [True, False, None]
        assert type(decode(encode(Atom("undefined")))) is Atom

    def test_an_invalid_utf8_atom_fails_even_after_a_latin1_atom_of_the_same_bytes(
        self,
    ) -> None:
        assert decode(b"\x83s\x01\xfe") == "\xfe"  # the Latin-1 atom <<254>>
        with pytest.raises(DecodeError, match="not valid UTF-8"):
            decode(b"\x83w\x02\xff\xfe")

    def test_a_binary_is_str_when_valid_utf8_and_bytes_otherwise(self) -> None:
        assert decode(encode(b"caf\xc3\xa9")) == "café"
        assert decode(encode(b"caf\xe9")) == b"caf\xe9"

    def test_a_charlist_decodes_to_a_list_of_ints(self) -> None:
        assert decode(bytes.fromhex("836b00026869")) == [104, 105]

    def test_equal_pids_within_one_term_are_the_same_object(self) -> None:
        a = pid("a@b", 1, 0, 7)
        pair = decode(encode((a, a)))
        assert isinstance(pair, tuple)
        assert pair[0] is pair[1] and pair[0] is not a

    def test_a_decoder_interns_pids_across_terms(self) -> None:
        decoder = Decoder()
        data = encode(pid("a@b", 1, 0, 7))
        assert decoder.decode(data) is decoder.decode(data)

    def test_the_pids_hook_builds_every_pid(self) -> None:
        local = pid("py@h", 5, 0, 3)
        seen: list[tuple[str, int, int, int]] = []

        def pids(node: str, id_: int, serial: int, creation: int) -> Pid:
            seen.append((node, id_, serial, creation))
            return local

        assert decode(encode([pid("py@h", 5, 0, 3)]), pids=pids) == [local]
        assert seen == [("py@h", 5, 0, 3)]

    def test_a_fun_keeps_its_module_arity_and_free_variables(self) -> None:
        (vector,) = [v for v in VECTORS if v["name"] == "fun_closure"]
        fun = decode(bytes.fromhex(vector["v2"]))
        assert (fun.module, fun.arity, fun.free_vars) == ("term_vectors", 1, (5,))  # type: ignore[attr-defined]
        assert repr(fun) == "#Fun<term_vectors.1>"


class TestDecodeFrom:
    def test_consecutive_terms_are_read_one_after_the_other(self) -> None:
        control = encode((2, Atom(""), pid("a@b", 1, 0, 7)))
        payload = encode({"hello": [1.5]})
        buffer = b"p" + control + payload
        decoder = Decoder()
        first, offset = decoder.decode_from(buffer, 1)
        second, end = decoder.decode_from(buffer, offset)
        assert same(first, (2, Atom(""), pid("a@b", 1, 0, 7)))
        assert (offset, second, end) == (1 + len(control), {"hello": [1.5]}, len(buffer))

    def test_a_compressed_term_reports_where_it_ends(self) -> None:
        term = (Atom("hello"),) * 500
        packed = bytes(encode(term))
        compressed = b"\x83P" + struct.pack(">I", len(packed) - 1) + zlib.compress(packed[1:])
        value, end = decode_from(compressed + b"\x83j", 0)
        assert (value, end) == (term, len(compressed))
        assert decode_from(compressed + b"\x83j", end) == ([], end + 2)

    def test_a_term_without_version_byte_is_read_when_asked(self) -> None:
        assert Decoder().decode_from(b"a\x05", 0, version_byte=False) == (5, 2)

    def test_other_buffer_types_are_accepted(self) -> None:
        assert decode_from(bytearray(b"\x83a\x05"), 0) == (5, 3)
        assert decode_from(memoryview(b"\x83a\x05"), 0) == (5, 3)


class TestEncode:
    @pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in GOOD if v["exact"]])
    def test_python_values_encode_to_erlangs_bytes(self, vector: dict[str, Any]) -> None:
        assert encode(expected(vector)).hex() == vector["v2"]

    @pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in GOOD])
    def test_a_decoded_term_re_encodes_to_the_same_bytes(self, vector: dict[str, Any]) -> None:
        data = bytes.fromhex(vector["v2"])
        assert encode(decode(data)) == data

    def test_python_constants_become_atoms(self) -> None:
        assert encode(None) == b"\x83w\x03nil"
        assert encode(True) == b"\x83w\x04true"
        assert encode(False) == b"\x83w\x05false"

    def test_a_long_list_of_bytes_is_a_list_not_a_string(self) -> None:
        data = encode([1] * 70000)
        assert data[1] == 108  # LIST_EXT: STRING_EXT holds at most 65535
        assert decode(data) == [1] * 70000

    def test_bools_and_int_subclasses_in_a_list_of_small_ints_keep_their_type(self) -> None:
        assert same(decode(encode([1, True])), [1, True])
        assert encode([1, True])[1] == 108  # LIST_EXT, not STRING_EXT

    def test_an_atom_longer_than_255_characters_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at most 255 characters"):
            encode(Atom("a" * 256))

    def test_a_local_process_encodes_as_its_pid(self) -> None:
        async def main() -> tuple[bytes, str, int]:
            me = otp.self()
            return encode(me), me.node, me._id

        data, node, id_ = otp.run(main)
        assert same(decode(data), pid(node, id_, 0, 0))

    def test_a_list_that_contains_itself_raises_value_error(self) -> None:
        loop: list[object] = [1]
        loop.append(loop)
        with pytest.raises(ValueError, match="contains itself"):
            encode(loop)

    def test_a_ref_with_too_many_words_is_refused(self) -> None:
        with pytest.raises(ValueError, match="1 to 5 words"):
            encode(ref("a@b", 1, (1, 2, 3, 4, 5, 6)))

    def test_a_bitstring_and_export_round_trip(self) -> None:
        bits = BitBinary(b"\x01\xe0", 3)
        export = Export("lists", "map", 2)
        assert decode(encode([bits, export])) == [bits, export]

    def test_frozen_keys_encode_as_lists_and_maps(self) -> None:
        term = {FrozenList([1, 300]): 1, FrozenMap({"a": 1}): 2}
        assert decode(encode(term)) == term
        assert encode(term) == encode(FrozenMap({FrozenList([1, 300]): 1, FrozenMap({"a": 1}): 2}))


class TestPickledValues:
    @pytest.mark.parametrize(
        "value",
        [{1, 2}, frozenset("ab"), 3 + 4j, Color.RED, float("inf"), "\ud800", bytearray(b"x")],
        ids=["set", "frozenset", "complex", "int-enum", "inf", "surrogate", "bytearray"],
    )
    def test_values_without_an_erlang_form_travel_intact(self, value: object) -> None:
        data = encode(value)
        assert data.startswith(b"\x83h\x02w\x0b$otp_pickle")
        back = decode(data)
        assert back == value and type(back) is type(value)

    def test_exceptions_travel_intact_and_readable_by_erlang(self) -> None:
        data = encode(ValueError("boom"))
        assert data.startswith(b"\x83h\x04w\x0e$otp_exception")
        back = decode(data)
        assert type(back) is ValueError and back.args == ("boom",)
        decoded = decode(data, allow_pickle=False)
        assert type(decoded) is tuple and len(decoded) == 4
        tag, cls, message, raw = decoded
        assert (tag, cls, message) == ("$otp_exception", "ValueError", "boom")
        assert isinstance(raw, bytes)

    def test_nan_travels_as_nan(self) -> None:
        assert math.isnan(decode(encode(float("nan"))))  # type: ignore[arg-type]

    def test_pids_inside_a_pickled_object_go_through_the_pids_hook(self) -> None:
        owner = pid("a@b", 3, 0, 9)
        decoder = Decoder()
        job = decoder.decode(encode(Job("train", owner, {"gpu"})))
        again = decoder.decode(encode(owner))
        assert isinstance(job, Job) and job.owner is again
        assert same(again, owner)

    def test_with_allow_pickle_off_the_tuple_stays_a_tuple(self) -> None:
        value = decode(encode({1}), allow_pickle=False)
        assert isinstance(value, tuple) and value[0] == "$otp_pickle"

    def test_a_broken_pickle_raises_decode_error(self) -> None:
        bad = encode((Atom("$otp_pickle"), b"\x80\x05not a pickle"))
        with pytest.raises(DecodeError, match="could not unpickle"):
            decode(bad)

    def test_an_unpicklable_value_raises_type_error_saying_what_to_send(self) -> None:
        with pytest.raises(TypeError, match="no Erlang form and pickling it failed"):
            encode(lambda: 1)


class TestDecodeErrors:
    @pytest.mark.parametrize(
        "vector", [pytest.param(v, id=v["name"]) for v in GOOD if len(v["v2"]) < 2000]
    )
    def test_every_truncation_of_a_valid_term_raises_decode_error(
        self, vector: dict[str, Any]
    ) -> None:
        data = bytes.fromhex(vector["v2"])
        for cut in range(len(data)):
            with pytest.raises(DecodeError):
                decode(data[:cut])

    @pytest.mark.parametrize(
        "data",
        [
            b"\x83i\xff\xff\xff\xff",  # LARGE_TUPLE of 4 billion elements
            b"\x83l\xff\xff\xff\xffj",  # LIST
            b"\x83t\xff\xff\xff\xff",  # MAP
            b"\x83m\xff\xff\xff\xff",  # BINARY
            b"\x83o\xff\xff\xff\xff\x00",  # LARGE_BIG
            b"\x83k\xff\xff",  # STRING
            b"\x83v\xff\xff",  # ATOM_UTF8
            b"\x83M\xff\xff\xff\xff\x03",  # BIT_BINARY
            b"\x83p\xff\xff\xff\xff" + bytes(25),  # NEW_FUN
        ],
    )
    def test_a_claimed_length_beyond_the_input_fails_at_once(self, data: bytes) -> None:
        with pytest.raises(DecodeError, match="input ends before"):
            decode(data)

    def test_the_error_says_where_and_what(self) -> None:
        with pytest.raises(DecodeError) as info:
            decode(b"\x83h\x02a\x01")
        assert info.value.offset == 5
        assert "element 2 of a tuple of 2 elements" in str(info.value)
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "version byte 131"),
            (b"\x82a\x01", "version byte 131"),
            (b"\x83a\x01\x00", "unexpected bytes after the term"),
            (b"\x83R\x00", "atom cache"),
            (b"\x83y\x00", "LOCAL_EXT"),
            (b"\x83u\x00", "FUN_EXT"),
            (b"\x83h\x01\x83", "version byte inside a term"),
            (b"\x83h\x01P", "only allowed right after the version byte"),
            (b"\x83\x01", "not a tag"),
            (b"\x83w\x02\xff\xfe", "not valid UTF-8"),
            (b"\x83Z\x00\x09w\x01a\x00\x00\x00\x00", "1 to 5 words"),
            (b"\x83M\x00\x00\x00\x01\x09\x00", "invalid bitstring"),
            (b"\x83c" + b"x" * 31, "invalid float string"),
            (b"\x83Xa\x01" + bytes(12), "expected an atom"),
            (b"\x83qw\x01mw\x01fb\x00\x00\x01\x2c", "arity of an external fun"),
            (b"\x83qw\x01mw\x01fF" + bytes(8), "arity of an external fun"),
            (b"\x83P\x00\x00\x00\x05" + zlib.compress(b"a\x01"), "inflate to the 5 bytes"),
            (b"\x83P\x00\x00\x00\x05garbage", "invalid zlib data"),
            (b"\x83P\x00\x00\x00\x03" + zlib.compress(b"a\x01\x00"), "unexpected bytes in"),
        ],
    )
    def test_malformed_input_raises_decode_error_naming_the_problem(
        self, data: bytes, message: str
    ) -> None:
        with pytest.raises(DecodeError, match=message):
            decode(data)

    @pytest.mark.parametrize(
        "data",
        [
            b"\x83qw\x01mw\x01f" + encode(10**5000)[1:],  # the arity of an external fun
            b"\x83X" + encode(10**5000)[1:] + bytes(12),  # the node of a pid
            b"\x83X" + encode((1,) * 100_000)[1:] + bytes(12),  # the node of a pid
        ],
        ids=["huge arity", "huge node", "long node"],  # too large to print; long to print
    )
    def test_the_error_shows_a_bad_value_shortly_whatever_it_is(self, data: bytes) -> None:
        # repr() of an int of more than 4,300 digits raises ValueError.
        with pytest.raises(DecodeError) as info:
            decode(data)
        assert len(str(info.value)) < 500

    def test_a_fun_with_a_wrong_size_raises_decode_error(self) -> None:
        (vector,) = [v for v in VECTORS if v["name"] == "fun_local"]
        data = bytearray.fromhex(vector["v2"])
        data[5] -= 1  # the low byte of Size
        with pytest.raises(DecodeError):
            decode(bytes(data))

    @pytest.mark.parametrize("level", [b"h\x01", b"l\x00\x00\x00\x01", b"t\x00\x00\x00\x01a\x01"])
    def test_truncated_deeply_nested_input_raises_decode_error(self, level: bytes) -> None:
        data = b"\x83" + level * 100_000
        with pytest.raises(DecodeError, match="input ends before"):
            decode(data)

    def test_nesting_of_800_levels_round_trips(self) -> None:
        term: object = []
        for _ in range(400):  # a map and a list per round
            term = {1: [term]}
        assert decode(encode(term)) == term


class TestTermValues:
    def test_an_atom_equals_its_text_and_says_it_is_an_atom(self) -> None:
        assert Atom("ok") == "ok" and repr(Atom("ok")) == "Atom('ok')"

    def test_an_improper_list_needs_elements_and_a_non_list_tail(self) -> None:
        with pytest.raises(ValueError, match="at least one element"):
            ImproperList([], 1)
        with pytest.raises(ValueError, match="cannot be a list"):
            ImproperList([1], [2])

    def test_a_bitstring_needs_bytes_and_1_to_8_bits(self) -> None:
        with pytest.raises(ValueError, match="1 to 8 bits"):
            BitBinary(b"\x00", 0)

    def test_an_export_arity_is_between_0_and_255(self) -> None:
        with pytest.raises(ValueError, match="between 0 and 255"):
            Export("m", "f", 256)

    def test_frozen_containers_equal_their_mutable_forms_but_not_tuples(self) -> None:
        assert FrozenList([1]) == [1] and FrozenList([1]) != (1,)
        assert FrozenMap({1: 2}) == {1: 2} and hash(FrozenMap({1: 2})) == hash(FrozenMap({1: 2}))
