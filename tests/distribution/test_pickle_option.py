"""`pickle=False`: a node that neither unpickles what peers send nor pickles what it sends.

A pickle runs code the sender chose when it is loaded: `Trigger` below is
a pickle whose loading calls `record`, so a test sees whether it ran.
By default (`pickle=True`, the trust model of Erlang: a peer that knows
the cookie is trusted) it runs; with `pickle=False` it stays bytes.
"""

from __future__ import annotations

import pickle
import uuid

import pytest
from erlang_nodes import COOKIE, GUARD, erl, erlang

import otp
from otp import Atom
from otp.distribution import _term_compiled, _term_decode
from otp.distribution._no_pickle import refuse_pickles
from otp.distribution._term import encode

#: What loading a `Trigger` pickle did, in order.
RAN: list[str] = []


def record(what: str) -> str:
    """Called by loading a `Trigger` pickle: the side effect a test looks for."""
    RAN.append(what)
    return f"ran {what}"


class Trigger:
    """Pickles as "call record(what) when loaded"."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return record, (self.what,)


@pytest.fixture(autouse=True)
def clean() -> None:
    RAN.clear()


DECODERS = [
    pytest.param(_term_decode.Decoder, id="pure"),
    pytest.param(_term_compiled.Decoder, id="compiled"),
]
if not _term_compiled.AVAILABLE:  # pragma: no cover - installed without a C compiler
    DECODERS = DECODERS[:1]


def pickled(what: str) -> bytes:
    return pickle.dumps(Trigger(what))


class TestDecoders:
    @pytest.mark.parametrize("decoder", DECODERS)
    def test_a_pickle_tuple_stays_a_tuple_and_runs_nothing(self, decoder: type) -> None:
        raw = pickled("decode")
        data = encode((Atom("$otp_pickle"), raw))
        assert decoder(allow_pickle=False).decode(data) == (Atom("$otp_pickle"), raw)
        assert RAN == []

    @pytest.mark.parametrize("decoder", DECODERS)
    def test_the_exception_form_stays_a_tuple_too(self, decoder: type) -> None:
        raw = pickled("exception")
        term = (Atom("$otp_exception"), "ValueError", "boom", raw)
        assert decoder(allow_pickle=False).decode(encode(term)) == term
        assert RAN == []

    @pytest.mark.parametrize("decoder", DECODERS)
    def test_pickles_nested_in_lists_and_maps_stay_tuples(self, decoder: type) -> None:
        raw = pickled("nested")
        term = [{"k": (Atom("$otp_pickle"), raw)}, ((Atom("$otp_pickle"), raw),)]
        got = decoder(allow_pickle=False).decode(encode(term))
        assert got == term and RAN == []

    @pytest.mark.parametrize("decoder", DECODERS)
    def test_by_default_a_pickle_is_loaded_and_runs_its_code(self, decoder: type) -> None:
        data = encode((Atom("$otp_pickle"), pickled("default")))
        assert decoder().decode(data) == "ran default"
        assert RAN == ["default"]

    def test_both_decoders_agree_on_every_form(self) -> None:
        raw = pickled("agree")
        forms = [
            (Atom("$otp_pickle"), raw),
            (Atom("$otp_exception"), "E", "m", raw),
            (Atom("$otp_pickle"), "not a binary"),
            [(Atom("$otp_pickle"), raw)],
        ]
        for term in forms:
            data = encode(term)
            assert _term_decode.Decoder(allow_pickle=False).decode(data) == (
                _term_compiled.Decoder(allow_pickle=False).decode(data)
            )
        assert RAN == []


class TestSending:
    def test_a_value_without_an_erlang_form_is_refused_naming_it(self) -> None:
        value = {"ok": [1, {2, 3}]}
        with pytest.raises(TypeError, match=r"pickle=False.*\{2, 3\} \(set\)"):
            refuse_pickles(value, encode(value))

    def test_a_namedtuple_is_refused_as_it_would_be_pickled(self) -> None:
        down = otp.NodeDown("x@y")
        with pytest.raises(TypeError, match="NodeDown"):
            refuse_pickles([down], encode([down]))

    @pytest.mark.parametrize(
        "value",
        [
            (Atom("ok"), 1, 2.5, "text", b"bytes", [1, 2], {"a": (1,)}),
            (Atom("$otp_pickle"), b"built by hand"),  # plain data that looks like a pickle
            b"\x68\x02\x77\x0b$otp_pickle",  # the tag's bytes inside a binary
            [],
        ],
    )
    def test_plain_data_passes(self, value: object) -> None:
        refuse_pickles(value, encode(value))

    def test_a_node_with_pickle_false_refuses_to_send_a_set(self) -> None:
        async def main() -> None:
            otp.send(("inbox", f"nobody{uuid.uuid4().hex[:8]}@127.0.0.1"), {1, 2})

        name = f"np{uuid.uuid4().hex[:10]}@127.0.0.1"
        with pytest.raises(TypeError, match="started with pickle=False"):
            otp.run(main, node=name, cookie=COOKIE, pickle=False)

    def test_a_default_node_sends_it_pickled(self) -> None:
        async def main() -> None:
            otp.send(("inbox", f"nobody{uuid.uuid4().hex[:8]}@127.0.0.1"), {1, 2})

        name = f"dp{uuid.uuid4().hex[:10]}@127.0.0.1"
        otp.run(main, node=name, cookie=COOKIE)  # no error: it is queued, pickled


def erlang_bytes(raw: bytes) -> str:
    return "<<" + ",".join(str(b) for b in raw) + ">>"


@pytest.mark.erlang
class TestWithErlang:
    """A plain Erlang node sends `{'$otp_pickle', Bin}`: the pickle of `Trigger`."""

    def scenario(self, pickle_option: bool) -> object:
        py = f"py{uuid.uuid4().hex[:10]}@127.0.0.1"
        en = f"erl{uuid.uuid4().hex[:10]}@127.0.0.1"
        code = erl(
            "{inbox, $PY} ! {'$otp_pickle', " + erlang_bytes(pickled("erlang")) + "},"
            'io:format("sent~n"), timer:sleep(infinity).',
            PY=py,
        )

        async def main() -> object:
            otp.register("inbox", otp.self())
            async with erlang(en, code) as peer:
                await peer.expect("sent")
                return await otp.receive(timeout=GUARD)

        return otp.run(main, node=py, cookie=COOKIE, pickle=pickle_option)

    def test_a_node_with_pickle_false_receives_the_tuple_and_runs_nothing(self) -> None:
        got = self.scenario(False)
        assert got == (Atom("$otp_pickle"), pickled("erlang"))
        assert RAN == []

    def test_a_default_node_unpickles_it_and_so_runs_the_senders_code(self) -> None:
        # The documented trust model: a peer that knows the cookie is trusted.
        assert self.scenario(True) == "ran erlang"
        assert RAN == ["erlang"]

    def test_an_exit_reason_still_reaches_erlang_from_a_node_with_pickle_false(self) -> None:
        py = f"py{uuid.uuid4().hex[:10]}@127.0.0.1"
        en = f"erl{uuid.uuid4().hex[:10]}@127.0.0.1"
        code = erl(
            "process_flag(trap_exit, true), register(watcher, self()),"
            'io:format("ready~n"),'
            "receive {go, P} -> link(P), P ! linked end,"
            "receive {'EXIT', _, R} -> io:format(\"exit ~p~n\", [element(1, R)]) end,"
            "timer:sleep(infinity).",
        )

        async def crash() -> None:
            await otp.receive(timeout=GUARD)
            raise ValueError("boom")

        async def main() -> str:
            async with erlang(en, code) as peer:
                await peer.expect("ready")
                pid = otp.spawn(crash)
                otp.send(("watcher", en), (Atom("go"), pid))
                return await peer.expect("exit")

        assert otp.run(main, node=py, cookie=COOKIE, pickle=False) == "'$otp_exception'"
