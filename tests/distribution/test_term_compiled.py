"""The compiled term codec gives exactly what the pure-Python codec gives.

Both codecs run in every test, whatever `otp.distribution.codec` is: the pure one
(`_term_decode`, `_term_encode`) is the reference, and the compiled one
(`_term_compiled`) must produce the same bytes, the same values (types and
pid identity included) and the same errors (type, message and offset), on
Erlang's reference vectors, on generated terms and on malformed input.

Without the extension these tests are skipped, unless
OTP_REQUIRE_COMPILED=1 (as in CI): then a missing extension fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from term_helpers import VECTORS, pid, ref, same
from test_term_properties import FAST, FUZZ, VALID, plain_terms, terms

from otp import Pid
from otp._runtime._ids import _new_ref
from otp._runtime._terms import _new_port
from otp.distribution import (
    Atom,
    BitBinary,
    DecodeError,
    Export,
    FrozenList,
    FrozenMap,
    ImproperList,
    _term_compiled,
    _term_decode,
    _term_encode,
)

REQUIRED = os.environ.get("OTP_REQUIRE_COMPILED") == "1"
pytestmark = pytest.mark.skipif(
    not _term_compiled.AVAILABLE and not REQUIRED,
    reason="the compiled codec is not built (pip install -e . needs a C compiler); "
    "OTP_REQUIRE_COMPILED=1 makes this a failure",
)

Outcome = tuple[str, object]


def outcome(fn: Callable[[], object]) -> Outcome:
    """What a call gives: its value, or its exception's type, message and offset."""
    try:
        return ("value", fn())
    except Exception as exc:
        return ("error", (type(exc), str(exc), getattr(exc, "offset", None)))


def identical(a: object, b: object) -> bool:
    """`same`, and pids that are one object in `a` are one object in `b`."""
    if not same(a, b):
        return False
    pids_a: list[Pid] = []
    pids_b: list[Pid] = []
    collect_pids(a, pids_a)
    collect_pids(b, pids_b)
    return identity_pattern(pids_a) == identity_pattern(pids_b)


def identity_pattern(pids: list[Pid]) -> list[int]:
    """For each pid, where the same object first appears."""
    ids = [id(p) for p in pids]
    return [ids.index(i) for i in ids]


def collect_pids(term: object, into: list[Pid]) -> None:
    if isinstance(term, Pid):
        into.append(term)
    elif isinstance(term, list | tuple):
        for x in term:
            collect_pids(x, into)
    elif isinstance(term, ImproperList):
        collect_pids(term.items, into)
        collect_pids(term.tail, into)
    elif isinstance(term, dict | FrozenMap):
        for k, v in term.items():
            collect_pids(k, into)
            collect_pids(v, into)


def decode_both(data: bytes, **options: Any) -> tuple[Outcome, Outcome]:
    pure = outcome(lambda: _term_decode.decode(data, **options))
    fast = outcome(lambda: _term_compiled.decode(data, **options))
    return pure, fast


def assert_decode_agrees(data: bytes, **options: Any) -> None:
    pure, fast = decode_both(data, **options)
    assert pure[0] == fast[0], (data, pure, fast)
    if pure[0] == "value":
        assert identical(fast[1], pure[1]), (data, pure, fast)
    else:
        assert fast == pure, data


def assert_encode_agrees(term: object) -> None:
    pure = outcome(lambda: _term_encode.encode(term))
    fast = outcome(lambda: _term_compiled.encode(term))
    assert fast == pure, term


def test_the_compiled_codec_is_built_when_required() -> None:
    assert _term_compiled.AVAILABLE, (
        "OTP_REQUIRE_COMPILED=1 but otp.distribution._term_c did not import: "
        "build it with 'pip install -e .' (needs a C compiler)"
    )


class TestSelection:
    def run(self, **env: str) -> str:
        code = "import otp.distribution as d; print(d.codec, d.Decoder.__module__)"
        environment = {k: v for k, v in os.environ.items() if k != "OTP_PURE_PYTHON"} | env
        result = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def test_the_compiled_codec_is_used_when_it_imports(self) -> None:
        assert self.run() == "compiled otp.distribution._term_compiled"

    def test_otp_pure_python_forces_the_pure_codec(self) -> None:
        assert self.run(OTP_PURE_PYTHON="1") == "python otp.distribution._term_decode"


class TestVectors:
    @pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
    def test_every_form_of_every_vector_decodes_the_same(self, vector: dict[str, Any]) -> None:
        for form in ("v2", "v1", "v0", "compressed", "crafted"):
            if form in vector:
                assert_decode_agrees(bytes.fromhex(vector[form]))

    @pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
    def test_every_decoded_vector_encodes_the_same(self, vector: dict[str, Any]) -> None:
        try:
            value = _term_decode.decode(bytes.fromhex(vector["v2"]))
        except DecodeError:
            return
        assert_encode_agrees(value)

    @pytest.mark.parametrize("data", VALID[::7])
    def test_every_truncation_of_a_vector_fails_the_same(self, data: bytes) -> None:
        for cut in range(len(data)):
            assert_decode_agrees(data[:cut])


class TestDecode:
    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x82a\x01",
            b"\x83a\x01\x00",
            b"\x83R\x00",
            b"\x83h\x02a\x01",
            b"\x83h\x01\x83",
            b"\x83w\x02\xff\xfe",
            b"\x83d\x00\x02\xff\xfe",
            b"\x83Z\x00\x09w\x01a\x00\x00\x00\x00",
            b"\x83Z\x00\x01w\x01a\x00\x00\x00",
            b"\x83Xa\x01" + bytes(12),
            b"\x83Xw\x01a" + bytes(11),
            b"\x83t\x00\x00\x00\x02w\x01aa\x01m\x00\x00\x00\x01aa\x02",
            b"\x83t\x00\x00\x00\x02a\x01a\x01F?\xf0\x00\x00\x00\x00\x00\x00a\x02",
            b"\x83t\x00\x00\x00\x01l\x00\x00\x00\x01a\x01ja\x02",
            b"\x83t\xff\xff\xff\xff",
            b"\x83l\xff\xff\xff\xffj",
            b"\x83l\x00\x00\x00\x01a\x01",
            b"\x83l\x00\x00\x00\x01a\x01a\x02",
            b"\x83l\x00\x00\x00\x00a\x02",
            b"\x83l\x00\x00\x00\x01a\x01l\x00\x00\x00\x01a\x02j",
            b"\x83l\x00\x00\x00\x01a\x01l\x00\x00\x00\x01a\x02a\x03",
            b"\x83k\x00\x03ab",
            b"\x83m\x00\x00\x00\x09abc",
            b"\x83m\x00\x00\x00\x02\xc3\xa9",
            b"\x83m\x00\x00\x00\x01\xe9",
            b"\x83n\x08\x01\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x83n\x08\x00\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x83n\x00\x01",
            b"\x83n\x09\x00" + bytes(range(1, 10)),
            b"\x83n\x03\x00\x01",
            b"\x83F\x00\x00",
            b"\x83b\x80\x00\x00\x00",
            b"\x83h\x02w\x0b$otp_picklem\x00\x00\x00\x03abc",
            b"\x83h\x02w\x0b$otp_picklea\x01",
        ],
    )
    def test_crafted_input_decodes_or_fails_the_same(self, data: bytes) -> None:
        assert_decode_agrees(data)
        assert_decode_agrees(data, allow_pickle=False)

    @pytest.mark.parametrize("depth", [1, 150, 199, 200, 201, 202, 400, 980, 1000, 5000])
    @pytest.mark.parametrize("level", [b"h\x01", b"l\x00\x00\x00\x01", b"t\x00\x00\x00\x01a\x01"])
    def test_nesting_at_any_depth_decodes_or_fails_the_same(self, level: bytes, depth: int) -> None:
        data = b"\x83" + level * depth + b"j" + (b"j" if level[:1] == b"l" else b"") * depth
        pure, fast = decode_both(data)
        if pure[0] == "error":
            assert fast == pure
            return
        assert fast[0] == "value"
        a, b = pure[1], fast[1]
        for _ in range(depth):  # one level at a time: `same` would recurse too deeply
            assert type(a) is type(b)
            a, b = (a[1], b[1]) if type(a) is dict else (a[0], b[0])  # type: ignore[index]
        assert a == b == []

    def test_equal_pids_are_one_object_within_a_term_and_across_a_decoder(self) -> None:
        a, b = pid("a@b", 1, 0, 7), pid("c@d", 2, 1, 8)
        data = _term_encode.encode([a, (b, a), {1: b}])
        decoder = _term_compiled.Decoder()
        first = decoder.decode(data)
        assert isinstance(first, list)
        assert first[0] is first[1][1] and first[1][0] is first[2][1]
        again = decoder.decode(_term_encode.encode(a))
        assert again is first[0]
        assert _term_compiled.decode(data)[0] is not first[0]  # type: ignore[index]

    def test_the_pids_hook_is_called_as_by_the_pure_decoder(self) -> None:
        data = _term_encode.encode([pid("a@b", 1, 0, 7), pid("a@b", 1, 0, 7), Atom("x")])
        calls: dict[str, list[tuple[object, ...]]] = {"pure": [], "fast": []}

        def hook(into: str) -> Callable[[str, int, int, int], Pid]:
            def pids(node: str, id_: int, serial: int, creation: int) -> Pid:
                calls[into].append((type(node), node, id_, serial, creation))
                return pid(node, id_, serial, creation)

            return pids

        _term_decode.decode(data, pids=hook("pure"))
        _term_compiled.decode(data, pids=hook("fast"))
        assert calls["fast"] == calls["pure"] and len(calls["pure"]) == 2

    def test_a_node_named_by_a_special_atom_stays_text(self) -> None:
        for node in (b"w\x04true", b"w\x03nil", b"d\x00\x05false", b"s\x03nil"):
            data = b"\x83X" + node + bytes(12)
            assert_decode_agrees(data)
            value = _term_compiled.decode(data)
            assert isinstance(value, Pid) and type(value.node) is str

    def test_pids_inside_a_pickle_go_through_the_same_decoder(self) -> None:
        owner = pid("a@b", 3, 0, 9)
        decoder = _term_compiled.Decoder()
        value = decoder.decode(_term_encode.encode(({1, 2}, owner, FrozenList([owner]))))
        assert isinstance(value, tuple) and value[0] == {1, 2} and value[1] is value[2][0]

    def test_the_decoder_api_is_the_pure_one(self) -> None:
        data = b"p\x83a\x01\x83j"
        for decoder in (_term_decode.Decoder(), _term_compiled.Decoder()):
            assert decoder.decode_from(data, 1) == (1, 4)
            assert decoder.decode_from(data, offset=4) == ([], 6)
            assert decoder.decode_from(bytearray(data), 1) == (1, 4)
            assert decoder.decode_from(memoryview(data), 1) == (1, 4)
            assert decoder.decode_from(b"a\x05", 0, version_byte=False) == (5, 2)
            assert decoder.decode_from(b"a\x05", version_byte=[]) == (5, 2)  # type: ignore[arg-type]
            assert decoder._data == b""
        odd: list[tuple[Any, Any]] = [("text", 0), (data, -1), (data, 1.0), (data, 99)]
        for args in odd:
            pure = outcome(partial(_term_decode.Decoder().decode_from, *args))
            fast = outcome(partial(_term_compiled.Decoder().decode_from, *args))
            assert fast == pure

    def test_the_decoder_restores_its_buffer_after_a_fallback(self) -> None:
        decoder = _term_compiled.Decoder()
        data = _term_encode.encode((BitBinary(b"\x01", 3), Export("m", "f", 1)))
        assert decoder.decode(data) == (BitBinary(b"\x01", 3), Export("m", "f", 1))
        assert decoder._data == b""


class TestEncode:
    @pytest.mark.parametrize(
        "term",
        [
            0,
            255,
            256,
            -1,
            2**31 - 1,
            2**31,
            -(2**31),
            -(2**31) - 1,
            2**63 - 1,
            2**63,
            -(2**63),
            -(2**63) - 1,
            2**64 - 1,
            2**64,
            -(2**64),
            10**100,
            0.0,
            -0.0,
            1e308,
            float("inf"),
            float("nan"),
            "",
            "é" * 300,
            "\ud800",
            Atom(""),
            Atom("é" * 127),
            Atom("é" * 128),
            Atom("é" * 255),
            Atom("é" * 256),
            Atom("x" * 256),
            Atom("\ud800"),
            [1, 2, 255],
            [1, 2, 256],
            [True, 1],
            [1, True],
            list(range(256)) * 256,
            list(range(256)) * 257,
            [7] * 0xFFFF,
            [7] * 0x10000,
            FrozenList([1, 2]),
            FrozenList([1, 300, "x"]),
            FrozenMap({"a": 1}),
            tuple(range(300)),
            {1: 2, "a": [3], (4,): None},
            ImproperList([Atom("alias")], ref("a@b", 1, [1, 2, 3])),
            ImproperList([1, 2], 3.5),
            ref("a@b", 1, [1, 2, 3, 4, 5]),
            ref("a@b", 1, [1, 2, 3, 4, 5, 6]),
            ref("a@b", 1, []),
            ref("a@b", 2**32, [1]),
            ref("a@b", 1, [2**32]),
            pid("a@b", 1, 0, 7),
            pid("a@b", 2**32, 0, 7),
            pid("a@b", -1, 0, 7),
            pid("é" * 256, 1, 0, 7),
            _new_port("a@b", 2**40, 1),
            Export("m", "f", 2),
            BitBinary(b"\x01\x40", 3),
            b"\xff" * 3,
            bytearray(b"x"),
            ValueError("boom"),
            {1, 2},
            lambda: 1,
        ],
        ids=repr,
    )
    def test_values_encode_the_same_or_fail_the_same(self, term: object) -> None:
        assert_encode_agrees(term)

    def test_odd_attribute_values_encode_the_same_or_fail_the_same(self) -> None:
        improper = ImproperList([1], 2)
        improper.items = [1, 2]  # type: ignore[assignment]
        assert_encode_agrees(improper)
        assert_encode_agrees(_new_ref("a@b", 1, (True, 2)))
        assert_encode_agrees(_new_ref(Atom("a@b"), 1, (1,)))
        assert_encode_agrees(_new_ref(b"a@b", 1, (1,)))  # type: ignore[arg-type]

    @pytest.mark.parametrize("depth", [1, 150, 199, 200, 201, 202, 400, 980, 1000, 5000])
    def test_nesting_at_any_depth_encodes_or_fails_the_same(self, depth: int) -> None:
        term: object = []
        for _ in range(depth):
            term = [term] if depth % 2 else (term,)
        assert_encode_agrees(term)

    def test_a_list_containing_itself_fails_the_same(self) -> None:
        loop: list[object] = [1]
        loop.append(loop)
        assert_encode_agrees(loop)


class TestGenerated:
    @FAST
    @given(plain_terms)
    def test_terms_encode_to_the_same_bytes_and_decode_to_the_same_values(
        self, term: object
    ) -> None:
        data = _term_encode.encode(term)
        assert _term_compiled.encode(term) == data
        assert_decode_agrees(data)

    @FAST
    @given(terms)
    def test_terms_with_pickles_round_trip_the_same(self, term: object) -> None:
        assert same(
            _term_compiled.decode(_term_compiled.encode(term)),
            _term_decode.decode(_term_encode.encode(term)),
        )

    @FAST
    @given(terms, st.data())
    def test_changed_or_truncated_terms_decode_or_fail_the_same(
        self, term: object, draw: st.DataObject
    ) -> None:
        data = bytearray(_term_encode.encode(term))
        if draw.draw(st.booleans()):
            del data[draw.draw(st.integers(0, len(data) - 1)) :]
        else:
            data[draw.draw(st.integers(0, len(data) - 1))] ^= draw.draw(st.integers(1, 255))
        assert_decode_agrees(bytes(data), allow_pickle=False)

    @FUZZ
    @given(st.binary(max_size=64))
    @example(b"\x83h\x02a\x01")
    def test_random_bytes_decode_or_fail_the_same(self, data: bytes) -> None:
        assert_decode_agrees(data, allow_pickle=False)
        assert_decode_agrees(b"\x83" + data, allow_pickle=False)

    @FUZZ
    @given(st.sampled_from(VALID), st.data())
    def test_vectors_with_changed_bytes_decode_or_fail_the_same(
        self, data: bytes, draw: st.DataObject
    ) -> None:
        mutated = bytearray(data)
        for _ in range(draw.draw(st.integers(1, 4))):
            at = draw.draw(st.integers(1, len(mutated) - 1)) if len(mutated) > 1 else 0
            mutated[at] = draw.draw(st.integers(0, 255))
        cut = draw.draw(st.integers(0, len(mutated)))
        assert_decode_agrees(bytes(mutated[:cut]), allow_pickle=False)
