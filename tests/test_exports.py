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

#: Calls across nodes, undecodable messages, and otp.sys (API.md's Debugging).
ACROSS_NODES = ["multi_call", "abcast", "Undecodable", "UndecodableMessage"]
SYS = [
    "get_state",
    "replace_state",
    "get_status",
    "suspend",
    "resume",
    "statistics",
    "trace",
    "change_code",
    "terminate",
]


def _public() -> set[str]:
    return {n for n in dir(otp) if not n.startswith("_")}


def _modules() -> set[str]:
    return {n for n in _public() if isinstance(getattr(otp, n), ModuleType)}


@pytest.mark.parametrize(
    "name", sorted({*RUNTIME, *PROCESSES, *GEN_SERVER, *ACROSS_NODES, *SECURITY})
)
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


@pytest.mark.parametrize("name", SYS)
def test_otp_sys_offers_each_debugging_function_of_the_api(name: str) -> None:
    assert name in otp.sys.__all__
    assert callable(getattr(otp.sys, name))


def test_from_thread_offers_call_cast_send_and_run() -> None:
    assert otp.from_thread.__all__ == ["call", "cast", "run", "send"]
    assert all(callable(getattr(otp.from_thread, name)) for name in otp.from_thread.__all__)


def test_peer_offers_start_link_stop_and_supervision() -> None:
    assert otp.peer.__all__ == [
        "Peer",
        "Pool",
        "child_spec",
        "pool_nodes",
        "pool_spec",
        "start_link",
        "start_pool",
        "stop",
    ]
    assert "peer" in otp.__all__
    assert otp.peer.Peer.__module__ == "otp.peer"


def test_exceptions_print_as_otp_names() -> None:
    assert repr(otp.NoProc()).startswith("NoProc(")
    assert f"{type(otp.NoProc()).__module__}.{type(otp.NoProc()).__name__}" == "otp.NoProc"


def test_erpc_offers_call_and_cast_and_its_exceptions_are_exits() -> None:
    assert otp.erpc.__all__ == ["call", "cast"]
    for cls in (otp.RemoteError, otp.RemoteThrow, otp.RemoteExit, otp.SpawnError):
        assert issubclass(cls, otp.Exit)
    assert issubclass(otp.RemoteError, otp.RemoteException)


def test_telemetry_offers_the_handler_functions_of_the_api() -> None:
    assert otp.telemetry.__all__ == [
        "Handler",
        "attach",
        "attach_many",
        "detach",
        "execute",
        "list_handlers",
        "span",
    ]
    assert "telemetry" in otp.__all__
    assert all(callable(getattr(otp.telemetry, name)) for name in otp.telemetry.__all__)
