"""The pytest plugin of `otp` (entry point `otp`): the `otp` marker and its fixtures.

pytest loads it in every session of an environment where `otp` is
installed, and it stays out of the way: a test that neither carries the
marker nor asks for its fixtures runs exactly as without it (the plugin
adds one marker, two fixtures and a `pytest_pyfunc_call` hook that only
looks for the marker). An `async def` test without the marker is left
to whatever else runs it (pytest-asyncio, anyio, ...).

`@pytest.mark.otp` runs an `async def` test as the first process of a
fresh node, as `otp.run` would; its options are

- `clock=True` to run the node on a fresh `otp.testing.VirtualClock`
  (or `clock=VirtualClock(...)` to pass one); asking for the
  `virtual_clock` fixture implies it;
- `timeout=` seconds (on the node's clock: virtual with `clock=True`)
  after which the test is killed and fails, saying where it waited;
- any `otp.run` node option (`node="a@127.0.0.1"`, `cookie=`,
  `slow_callback=`, `report_limit=`, ...).

The test fails when it raises, when its process is killed by an exit
signal (a linked process crashed), when it times out, and when a process
crashes during it while no process watched (see `otp.testing`).

With pytest-asyncio installed (auto or strict mode), a test marked `otp`
is run by this plugin, also when pytest-asyncio marks it `asyncio` too:
this hook runs first, and unwraps the coroutine function that
pytest-asyncio wraps in a sync one. Tests not marked `otp` stay
pytest-asyncio's.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from .._runtime._crash_reports import CrashReport
from .._runtime._node import Node
from .._runtime._repr import show
from .._runtime._run import NodeOptions
from ._clock import VirtualClock
from ._runner import Outcome, TestSetup, run_test

_SETUP = pytest.StashKey[TestSetup]()
_OWN_OPTIONS = ("clock", "timeout")
_NODE_OPTIONS = tuple(NodeOptions.__annotations__)


def pytest_configure(config: pytest.Config) -> None:
    """Register the `otp` marker."""
    config.addinivalue_line(
        "markers",
        "otp(clock=False, timeout=None, **node_options): run this async def test as the "
        "first process of a fresh otp node (clock=True: on a VirtualClock)",
    )


@pytest.fixture
def otp_node(request: pytest.FixtureRequest) -> Node:
    """The `otp.Node` the test runs in: made from the marker's options, running in the test."""
    return _setup(_function(request)).node


@pytest.fixture
def virtual_clock(request: pytest.FixtureRequest) -> VirtualClock:
    """The `VirtualClock` the test's node runs on; asking for it implies `clock=True`."""
    clock = _setup(_function(request)).clock
    assert clock is not None
    return clock


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a test marked `otp` in a fresh node; leave every other test alone."""
    if pyfuncitem.get_closest_marker("otp") is None:
        return None
    # pytest-asyncio (auto mode) swaps the test for a sync wrapper made with
    # functools.wraps: the coroutine function is under it.
    fn = inspect.unwrap(pyfuncitem.obj)
    if not inspect.iscoroutinefunction(fn):
        pytest.fail(
            f"@pytest.mark.otp runs async def tests as otp processes; {pyfuncitem.name} is a "
            f"plain def: make it `async def`, or drop the marker",
            pytrace=False,
        )
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    _report(run_test(_setup(pyfuncitem), fn, kwargs))
    return True


def _function(request: pytest.FixtureRequest) -> pytest.Function:
    item = request.node
    assert isinstance(item, pytest.Function), "otp's fixtures are function-scoped"
    return item


def _setup(item: pytest.Function) -> TestSetup:
    """The node and clock of `item`, made from its marker on first use."""
    made = item.stash.get(_SETUP, None)
    if made is None:
        made = item.stash[_SETUP] = _make_setup(item)
    return made


def _make_setup(item: pytest.Function) -> TestSetup:
    marker = item.get_closest_marker("otp")
    if marker is None:
        pytest.fail(
            f"{item.name} uses a fixture of otp's pytest plugin (otp_node or virtual_clock), "
            f"which needs the test to be marked @pytest.mark.otp (and be async def)",
            pytrace=False,
        )
    if marker.args:
        pytest.fail(
            f"@pytest.mark.otp takes keyword options only (clock=, timeout=, node options); "
            f"got positional {show(marker.args)}",
            pytrace=False,
        )
    options: dict[str, Any] = dict(marker.kwargs)
    clock = _clock(options.pop("clock", False), "virtual_clock" in item.fixturenames)
    timeout = options.pop("timeout", None)
    if timeout is not None and (type(timeout) not in (int, float) or timeout <= 0):
        pytest.fail(
            f"@pytest.mark.otp(timeout=...) is seconds > 0 or None; got {show(timeout)}",
            pytrace=False,
        )
    unknown = sorted(set(options) - set(_NODE_OPTIONS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.otp got unknown options {', '.join(unknown)}; it takes "
            f"{', '.join(_OWN_OPTIONS + _NODE_OPTIONS)}",
            pytrace=False,
        )
    name = options.pop("node", None)
    cookie = options.pop("cookie", None)
    return TestSetup(Node(name, cookie, **options), clock, timeout)


def _clock(option: object, wanted: bool) -> VirtualClock | None:
    if isinstance(option, VirtualClock):
        return option
    if option is True or (option is False and wanted):
        return VirtualClock()
    if option is False:
        return None
    pytest.fail(
        f"@pytest.mark.otp(clock=...) is True, False or an otp.testing.VirtualClock; "
        f"got {show(option)}",
        pytrace=False,
    )


def _report(outcome: Outcome) -> None:
    """Turn `outcome` into a failure, or return for a pass."""
    crashes = _crash_text(outcome.crashes)
    if outcome.timed_out is not None:
        pytest.fail(outcome.timed_out + crashes, pytrace=False)
    if outcome.killed is not None:
        pytest.fail(
            f"the test process was killed by an exit signal, reason: {show(outcome.killed)}"
            f"{crashes}",
            pytrace=False,
        )
    if outcome.error is not None:
        if crashes:
            outcome.error.add_note(crashes.lstrip("\n"))
        raise outcome.error
    if crashes:
        pytest.fail(crashes.lstrip("\n"), pytrace=False)


def _crash_text(crashes: list[CrashReport]) -> str:
    if not crashes:
        return ""
    many = len(crashes) != 1
    head = (
        f"\n\n{len(crashes)} process{'es' if many else ''} crashed during the test with no "
        f"process watching {'them' if many else 'it'} (no monitor, and no linked process "
        f"trapping exits, as a supervisor); expect a crash with "
        f"`with otp.testing.capture_crashes():`, or monitor the process:"
    )
    return head + "".join(f"\n\n{report.report}" for report in crashes)
