"""The values GenServer callbacks return: Ok, Reply, NoReply, Stop, Ignore."""

from __future__ import annotations

import pytest

import otp
from otp._behaviours._results import MISSING


class TestOk:
    def test_defaults(self) -> None:
        ok = otp.Ok("s")
        assert (ok.state, ok.timeout, ok.hibernate, ok.continue_) == ("s", None, False, MISSING)

    def test_options_are_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            otp.Ok("s", 1.0)  # type: ignore[call-arg]

    def test_repr_shows_the_options_given(self) -> None:
        assert repr(otp.Ok([1])) == "Ok([1])"
        assert repr(otp.Ok(1, timeout=2.0, hibernate=True, continue_=None)) == (
            "Ok(1, timeout=2.0, hibernate=True, continue_=None)"
        )


class TestReply:
    def test_fields(self) -> None:
        r = otp.Reply("answer", {"n": 1}, timeout=0, continue_="more")
        assert (r.reply, r.state, r.timeout, r.hibernate, r.continue_) == (
            "answer",
            {"n": 1},
            0,
            False,
            "more",
        )

    def test_repr(self) -> None:
        assert repr(otp.Reply("a", 1, hibernate=True)) == "Reply('a', 1, hibernate=True)"


class TestNoReply:
    def test_fields_and_repr(self) -> None:
        r = otp.NoReply(3, timeout=1.5)
        assert (r.state, r.timeout, r.hibernate, r.continue_) == (3, 1.5, False, MISSING)
        assert repr(r) == "NoReply(3, timeout=1.5)"


class TestStop:
    def test_reason_only_as_from_init(self) -> None:
        s = otp.Stop("bad_config")
        assert (s.reason, s.state, s.reply) == ("bad_config", MISSING, MISSING)
        assert repr(s) == "Stop('bad_config')"

    def test_with_state_and_reply(self) -> None:
        s = otp.Stop("normal", [1], reply="bye")
        assert (s.reason, s.state, s.reply) == ("normal", [1], "bye")
        assert repr(s) == "Stop('normal', [1], reply='bye')"

    def test_none_is_a_valid_reply(self) -> None:
        assert otp.Stop("normal", 0, reply=None).reply is None


class TestIgnore:
    def test_repr(self) -> None:
        assert repr(otp.Ignore()) == "Ignore()"


@pytest.mark.parametrize("cls", [otp.Ok, otp.Reply, otp.NoReply, otp.Stop, otp.Ignore])
def test_results_cannot_be_subclassed_and_have_slots(cls: type) -> None:
    with pytest.raises(TypeError, match="cannot be subclassed"):
        type("Sub", (cls,), {})
    assert "__dict__" not in dir(cls) and "__slots__" in vars(cls)


def test_missing_is_not_none() -> None:
    assert MISSING is not None and repr(MISSING) == "<missing>"
