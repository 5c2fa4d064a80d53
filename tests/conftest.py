"""Fixtures and markers shared by every test.

`clock` gives a test a fresh virtual clock. A test marked
`@pytest.mark.erlang` needs `erl` (and `epmd`) on the PATH;
`@pytest.mark.erlang("elixir")` names other programs it needs. Without them
the test is skipped, unless OTP_REQUIRE_ERLANG=1 (as in CI, where the test
command installs Erlang): then it fails, because a skipped interoperability
test proves nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest

from otp.testing import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    """A fresh virtual clock at time 0.0: run the test's node with `clock.run(main)`."""
    return VirtualClock()


ERLANG_PROGRAMS = ("erl", "epmd")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `erlang` marker."""
    config.addinivalue_line(
        "markers",
        "erlang(*programs): needs Erlang/OTP's programs (erl, epmd, and any named); "
        "skipped without them unless OTP_REQUIRE_ERLANG=1",
    )


def require_erlang(*programs: str) -> None:
    """Skip the current test unless `programs` (default: erl and epmd) are installed.

    With OTP_REQUIRE_ERLANG=1 in the environment, fail instead of skipping.
    """
    wanted = programs or ERLANG_PROGRAMS
    missing = [program for program in wanted if shutil.which(program) is None]
    if not missing:
        return
    message = (
        f"{', '.join(missing)} not found on PATH: install Erlang/OTP and Elixir "
        "(scripts/install-erlang.sh does it on Debian and Ubuntu)"
    )
    if os.environ.get("OTP_REQUIRE_ERLANG") == "1":
        pytest.fail(f"OTP_REQUIRE_ERLANG=1 but {message}", pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply `require_erlang` to every test marked `erlang`."""
    marker = item.get_closest_marker("erlang")
    if marker is not None:
        require_erlang(*ERLANG_PROGRAMS, *marker.args)
