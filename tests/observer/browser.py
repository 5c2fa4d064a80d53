"""Drive the web dashboard in a real browser: Chromium, and an app to watch.

`launch_chromium()` starts the system's Chromium (Debian's package:
playwright's own download is not used) headless
through playwright's sync API, with a fresh profile. `running_app(node)`
runs `examples/app.py --observer 0 --seconds 0 --name NODE` as a program
until the `with` block ends, then stops it with SIGTERM and checks that it
exited as a stopped program does (status 143). `open_page(page, route)`
clicks a navigation link and waits until that page's first data arrived:
each page sets `document.body.dataset.loaded` to its route then.

Every wait here is on something reported (a line of output, the state of
the DOM), bounded by `WAIT` or `START_BOUND` against hanging on a slow
shared machine; none of them is a synchronisation by time.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import otp

ROOT = Path(__file__).resolve().parent.parent.parent
APP = ROOT / "examples" / "app.py"

#: Chromium's flags: headless, and nothing that reaches out to the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: Milliseconds a DOM condition may take to come true: a bound, not a delay.
WAIT = 15_000

#: Seconds the app may take to print its `Observer:` line.
START_BOUND = 60.0

#: Seconds the app may take to stop after SIGTERM.
STOP_BOUND = 30.0

#: What the app prints once its dashboard listens.
OBSERVER_LINE = re.compile(r"^Observer: (http://\S+)\s*$")

#: The exit status of a program stopped by SIGTERM (128 + 15).
STOPPED_BY_SIGTERM = 143

#: The routes of the dashboard, each with the `nav-<route>` link that opens it.
ROUTES = ("overview", "processes", "tree", "tables", "registries", "nodes", "crashes")


def chromium_path() -> str:
    """The Chromium to launch: /usr/bin/chromium, else `chromium` on the PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    found = shutil.which("chromium")
    if found is None:
        raise FileNotFoundError("Chromium not found: run scripts/install-chromium.sh")
    return found


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Start headless Chromium (a fresh temporary profile) until the block ends."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Browser, width: int = 1280, height: int = 800) -> Iterator[Page]:
    """A page of its own (fresh cookies and storage) at `width` x `height`."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class App:
    """An example application running as a program, with its dashboard's address."""

    process: subprocess.Popen[str]
    node: str  # the node name it was given
    url: str  # the dashboard, as printed: http://127.0.0.1:PORT/
    stderr: IO[str]  # its log: crash reports and tracebacks
    output: list[str] = field(default_factory=list)  # its stdout lines so far

    def log(self) -> str:
        """Everything the program wrote so far, for a failure message."""
        self.stderr.flush()
        self.stderr.seek(0)
        return f"stdout:\n{''.join(self.output)}\nstderr:\n{self.stderr.read()}"


def program_env() -> dict[str, str]:
    """The test's environment for a program, with this `otp` first on its PYTHONPATH."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    src = str(Path(otp.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


@contextmanager
def running_app(node: str, *args: str, program: Path = APP) -> Iterator[App]:
    """Run `program` (the example app) with its dashboard on a free port.

    Waits at most START_BOUND seconds for the `Observer: URL` line, failing
    with the program's output if it does not come; at the end of the block
    sends SIGTERM and asserts exit status 143 (a graceful shutdown).
    """
    argv = [sys.executable, str(program), "--observer", "0", "--seconds", "0", "--name", node]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [*argv, *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=program_env(),
            cwd=ROOT,
        )
        app = App(process, node, "", stderr)
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process, app, lines), daemon=True)
        reader.start()
        try:
            app.url = _observer_url(app, lines)
            yield app
        finally:
            status = _stop(process)
            reader.join(STOP_BOUND)
            assert process.stdout is not None
            process.stdout.close()
        assert status == STOPPED_BY_SIGTERM, (
            f"{program.name} exited with status {status} after SIGTERM, "
            f"not {STOPPED_BY_SIGTERM}\n{app.log()}"
        )


def _read_lines(process: subprocess.Popen[str], app: App, lines: queue.Queue[str | None]) -> None:
    """Collect the program's stdout until it closes (keeping its pipe from filling)."""
    assert process.stdout is not None
    for line in process.stdout:
        app.output.append(line)
        lines.put(line)
    lines.put(None)


def _observer_url(app: App, lines: queue.Queue[str | None]) -> str:
    """Wait for the `Observer:` line; fail, showing the output, if it does not come."""
    while True:
        try:
            line = lines.get(timeout=START_BOUND)
        except queue.Empty:
            pytest.fail(
                f"no 'Observer: URL' line from the app within {START_BOUND:g} s\n{app.log()}",
                pytrace=False,
            )
        if line is None:
            status = app.process.wait(STOP_BOUND)
            pytest.fail(
                f"the app exited (status {status}) without printing 'Observer: URL'\n{app.log()}",
                pytrace=False,
            )
        if match := OBSERVER_LINE.match(line):
            return match.group(1)


def _stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM the program and return its exit status (killing it if it hangs)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def open_page(page: Page, route: str) -> None:
    """Click the navigation link of `route` and wait until its first data arrived."""
    page.locator(f"a[data-testid=nav-{route}]").click()
    wait_loaded(page, route)


def wait_loaded(page: Page, route: str) -> None:
    """Wait until the page of `route` has shown its first data."""
    expect(page.locator("body")).to_have_attribute("data-loaded", route, timeout=WAIT)


#: True when the SVG chart (by test id) draws a line through `samples` points or more.
CHART_DRAWN = """([testid, samples]) => {
    const svg = document.querySelector(`svg[data-testid=${testid}]`);
    if (!svg) return false;
    return [...svg.querySelectorAll("path, polyline")].some((line) => {
        const points = line.getAttribute("d") || line.getAttribute("points") || "";
        return (points.match(/-?\\d+(\\.\\d+)?/g) || []).length >= 2 * samples;
    });
}"""


def wait_chart_drawn(page: Page, chart: str, samples: int = 2, timeout: float = WAIT) -> None:
    """Wait until `svg[data-testid=chart-<chart>]` draws a line through `samples` points."""
    expect(page.locator(f"svg[data-testid=chart-{chart}]")).to_be_visible(timeout=timeout)
    page.wait_for_function(CHART_DRAWN, arg=[f"chart-{chart}", samples], timeout=timeout)
