"""The public surface: what `otp` exports, and how its classes present themselves."""

from __future__ import annotations

from types import ModuleType

import pytest

import otp

#: The names of API.md's sections Runtime, Processes and GenServer.
RUNTIME = ["run", "Node", "call", "cast", "send", "from_thread"]
PROCESSES = [
    "Pid",
    "self",
    "NotInProcess",
    "spawn",
    "spawn_link",
    "spawn_monitor",
    "send",
    "receive",
    "NoProc",
    "Via",
    "link",
    "unlink",
    "monitor",
    "demonitor",
    "trap_exit",
    "exit",
    "Exit",
    "Down",
    "Exited",
    "register",
    "unregister",
    "whereis",
    "registered",
    "processes",
    "is_alive",
    "process_info",
    "send_after",
    "cancel_timer",
    "read_timer",
    "TimerRef",
]
GEN_SERVER = [
    "GenServer",
    "From",
    "Global",
    "StartError",
    "AlreadyStarted",
    "Ok",
    "Ignore",
    "Stop",
    "Reply",
    "NoReply",
    "call",
    "cast",
    "reply",
    "stop",
    "CallTimeout",
    "NoConnection",
    "Exit",
    "CallbackWarning",
]
#: API.md's "Trust and security".
SECURITY = ["TLS", "Node"]


def _public() -> set[str]:
    return {n for n in dir(otp) if not n.startswith("_")}


def _modules() -> set[str]:
    return {n for n in _public() if isinstance(getattr(otp, n), ModuleType)}


@pytest.mark.parametrize("name", sorted({*RUNTIME, *PROCESSES, *GEN_SERVER, *SECURITY}))
def test_every_name_of_the_api_is_exported(name: str) -> None:
    assert name in otp.__all__
    assert hasattr(otp, name)


def test_all_is_exactly_the_public_names() -> None:
    modules = _modules()  # submodules such as otp.testing appear once imported
    assert len(otp.__all__) == len(set(otp.__all__)), "duplicates in __all__"
    assert set(otp.__all__) - modules == _public() - modules
    assert all(hasattr(otp, name) for name in otp.__all__)


@pytest.mark.parametrize("name", [n for n in otp.__all__ if isinstance(getattr(otp, n), type)])
def test_exported_classes_present_themselves_as_otp(name: str) -> None:
    cls = getattr(otp, name)
    assert cls.__module__ == "otp"
    assert cls.__qualname__ == name


@pytest.mark.parametrize(
    "name",
    [n for n in otp.__all__ if callable(getattr(otp, n)) and not isinstance(getattr(otp, n), type)],
)
def test_exported_functions_present_themselves_as_otp(name: str) -> None:
    assert getattr(otp, name).__module__ == "otp"


def test_from_thread_offers_call_cast_send_and_run() -> None:
    assert otp.from_thread.__all__ == ["call", "cast", "run", "send"]
    assert all(callable(getattr(otp.from_thread, name)) for name in otp.from_thread.__all__)


def test_exceptions_print_as_otp_names() -> None:
    assert repr(otp.NoProc()).startswith("NoProc(")
    assert f"{type(otp.NoProc()).__module__}.{type(otp.NoProc()).__name__}" == "otp.NoProc"
