"""Fixtures and markers shared by every test.

`clock` gives a test a fresh virtual clock. A test marked
`@pytest.mark.erlang` needs `erl` (and `epmd`) on the PATH;
`@pytest.mark.erlang("elixir")` names other programs it needs. Without them
the test is skipped, unless OTP_REQUIRE_ERLANG=1 (as in CI, where the test
command installs Erlang): then it fails, because a skipped interoperability
test proves nothing.

A test marked `@pytest.mark.browser` drives the web dashboard in a real
Chromium through playwright: without Chromium (/usr/bin/chromium or
`chromium` on the PATH), playwright or `otp.observer` it is skipped,
unless OTP_REQUIRE_BROWSER=1 (as in CI, where the test command installs
Chromium): then it fails.
"""

from __future__ import annotations

import importlib.util
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
    config.addinivalue_line(
        "markers",
        "browser: drives the dashboard in Chromium through playwright; "
        "skipped without them unless OTP_REQUIRE_BROWSER=1",
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


def chromium() -> str | None:
    """The path of the Chromium to drive: /usr/bin/chromium, else `chromium` on PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def require_browser() -> None:
    """Skip the current test unless Chromium, playwright and `otp.observer` are there.

    With OTP_REQUIRE_BROWSER=1 in the environment, fail instead of skipping.
    """
    missing = []
    if chromium() is None:
        missing.append("Chromium (scripts/install-chromium.sh installs it on Debian)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (pip install -e '.[dev]'; no `playwright install` needed)")
    if importlib.util.find_spec("otp.observer") is None:
        missing.append("otp.observer (pip install 'otp[observer]')")
    if not missing:
        return
    message = f"the browser tests need {' and '.join(missing)}"
    if os.environ.get("OTP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"OTP_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply `require_erlang` to tests marked `erlang`, `require_browser` to `browser`."""
    marker = item.get_closest_marker("erlang")
    if marker is not None:
        require_erlang(*ERLANG_PROGRAMS, *marker.args)
    if item.get_closest_marker("browser") is not None:
        require_browser()
