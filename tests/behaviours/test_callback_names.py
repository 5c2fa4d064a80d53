"""otp.CallbackWarning: misspelt callback names, caught when the class is created."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

import otp


def make_gen_server(name: str) -> type[otp.GenServer]:
    def method(self: object, *args: object) -> object:
        return None

    return type("Counter", (otp.GenServer,), {name: method})


def assert_no_warning(make: type[object], name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        type("Quiet", (make,), {name: lambda self, *args: None})


class TestGenServer:
    @pytest.mark.parametrize(
        ("name", "callback"),
        [
            ("handle_cal", "handle_call"),
            ("handle_infos", "handle_info"),
            ("terminte", "terminate"),
            ("handle_contineu", "handle_continue"),
            ("handleCall", "handle_call"),
            ("Handle_Cast", "handle_cast"),
            ("inti", "init"),
            ("Init", "init"),
            ("hadnle_info", "handle_info"),
            ("code_chnage", "code_change"),
            ("handle_contimue", "handle_continue"),
            ("format_statis", "format_status"),
        ],
    )
    def test_a_misspelt_callback_warns_naming_the_callback(self, name: str, callback: str) -> None:
        with pytest.warns(otp.CallbackWarning) as caught:
            make_gen_server(name)
        assert [str(w.message) for w in caught] == [
            f"Counter.{name} looks like a misspelling of the GenServer callback {callback}; "
            f"rename it (or prefix it with an underscore if it is a helper)"
        ]

    @pytest.mark.parametrize(
        "name",
        [
            "int",
            "unit",
            "inits",
            "handle_request",
            "handle_error",
            "handle_case",
            "handle_cell",
            "handle_timeout",
            "format_state",
            "terminal",
            "increment",
        ],
    )
    def test_an_ordinary_helper_name_does_not_warn(self, name: str) -> None:
        assert_no_warning(otp.GenServer, name)

    def test_the_warning_points_at_the_misspelt_def(self) -> None:
        with pytest.warns(otp.CallbackWarning) as caught:

            class Counter(otp.GenServer):
                def handle_cal(self, request: object, from_: otp.From, state: object) -> object:
                    return otp.Reply(state, state)

        [warning] = caught
        _lines, first = inspect.getsourcelines(Counter.handle_cal)
        assert (warning.filename, warning.lineno) == (__file__, first)

    def test_static_and_class_methods_are_checked_too(self) -> None:
        with pytest.warns(otp.CallbackWarning, match="Counter.terminte looks like"):

            class Counter(otp.GenServer):
                @staticmethod
                def terminte(reason: object, state: object) -> None:
                    return None

    def test_underscored_names_callbacks_and_non_methods_do_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")

            class Counter(otp.GenServer):
                handle_cal = "not a method"

                def _handle_cal(self) -> None:
                    return None

                def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
                    return otp.Reply(state, state)

    def test_a_helper_next_to_the_callback_it_resembles_does_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")

            class Counter(otp.GenServer):
                def terminate(self, reason: object, state: object) -> None:
                    self.terminated()

                def terminated(self) -> None:
                    return None

    def test_overrides_of_inherited_names_do_not_warn(self) -> None:
        with pytest.warns(otp.CallbackWarning):

            class Base(otp.GenServer):
                def handle_cal(self) -> None:
                    return None

        with warnings.catch_warnings():
            warnings.simplefilter("error")

            class Child(Base):
                def handle_cal(self) -> None:  # warned about once, on Base
                    return None

                @classmethod
                def child_spec(cls, arg: object = None, **opts: object) -> otp.ChildSpec:
                    return super().child_spec(arg, **opts)

    def test_it_is_a_user_warning(self) -> None:
        assert issubclass(otp.CallbackWarning, UserWarning)


class TestSupervisors:
    @pytest.mark.parametrize("behaviour", [otp.Supervisor, otp.DynamicSupervisor])
    def test_a_misspelt_init_warns(self, behaviour: type[object]) -> None:
        with pytest.warns(otp.CallbackWarning) as caught:
            type("Workers", (behaviour,), {"Init": lambda self, arg: None})
        assert [str(w.message) for w in caught] == [
            f"Workers.Init looks like a misspelling of the {behaviour.__name__} callback init; "
            f"rename it (or prefix it with an underscore if it is a helper)"
        ]

    @pytest.mark.parametrize("behaviour", [otp.Supervisor, otp.DynamicSupervisor])
    def test_other_names_do_not_warn(self, behaviour: type[object]) -> None:
        for name in ("int", "handle_cal", "children"):
            assert_no_warning(behaviour, name)
