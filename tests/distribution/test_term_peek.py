"""`peek_call`: the caller and tag of a call whose request cannot be decoded."""

from __future__ import annotations

import pytest
from term_helpers import pid, ref, same

from otp._runtime._terms import Atom
from otp.distribution import _term_compiled, _term_decode, encode
from otp.distribution._term_peek import peek_call

DECODERS = {"pure": _term_decode.Decoder, "compiled": _term_compiled.Decoder}
GEN_CALL = Atom("$gen_call")
CALLER = pid("erl@host", 42, 0, 7)
TAG = ref("erl@host", 7, (1, 2, 3))


@pytest.mark.parametrize("decoder", DECODERS)
class TestPeekCall:
    def test_a_call_with_a_malformed_request_gives_its_caller_and_tag(self, decoder: str) -> None:
        data = encode((GEN_CALL, (CALLER, TAG), Atom("placeholder")))
        data = data[: -len(encode(Atom("placeholder"))) + 1] + b"\x52\x00"  # ATOM_CACHE_REF
        assert same(peek_call(data, 0, DECODERS[decoder]()), (CALLER, TAG))

    def test_a_truncated_request_still_gives_its_caller_and_tag(self, decoder: str) -> None:
        data = b"junk" + encode((GEN_CALL, (CALLER, TAG), [1, 2, 3]))[:-3]
        assert same(peek_call(data, 4, DECODERS[decoder]()), (CALLER, TAG))

    def test_the_caller_comes_from_the_decoder_s_pids_hook(self, decoder: str) -> None:
        seen = []

        def hook(node: str, id_: int, serial: int, creation: int) -> object:
            seen.append((node, id_))
            return CALLER

        data = encode((GEN_CALL, (CALLER, TAG), 1))
        assert peek_call(data, 0, DECODERS[decoder](pids=hook)) == (CALLER, TAG)  # type: ignore[arg-type]
        assert seen == [("erl@host", 42)]

    def test_a_term_without_the_version_byte_is_read_when_told(self, decoder: str) -> None:
        data = encode((GEN_CALL, (CALLER, TAG), 1))[1:]
        found = peek_call(data, 0, DECODERS[decoder](), version_byte=False)
        assert same(found, (CALLER, TAG))

    @pytest.mark.parametrize(
        "term",
        [
            (Atom("$gen_cast"), (CALLER, TAG), 1),
            ("$gen_call", (CALLER, TAG), 1),  # a binary, not the atom
            (GEN_CALL, CALLER, 1),
            (GEN_CALL, (CALLER, TAG)),
            [GEN_CALL, (CALLER, TAG), 1],
        ],
    )
    def test_anything_but_a_call_gives_none(self, decoder: str, term: object) -> None:
        assert peek_call(encode(term), 0, DECODERS[decoder]()) is None

    def test_an_undecodable_tag_gives_none(self, decoder: str) -> None:
        data = encode((GEN_CALL, (CALLER, Atom("t")), 1))
        cut = data.index(encode(Atom("t"))[1:])
        assert peek_call(data[:cut] + b"\x52\x00", 0, DECODERS[decoder]()) is None
