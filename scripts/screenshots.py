"""Take the README's screenshots of the dashboard, in headless Chromium.

    .venv-3.11/bin/python scripts/screenshots.py [--out docs/images]

Runs examples/app.py with its dashboard on a free port (as the browser
tests do: tests/observer/browser.py), opens the overview, the processes,
the Stats server's process page (`--process NAME`: another's), the
supervision tree and the crash reports at 1280x800, and saves each as
`observer-<page>.png` in --out.
Each shot is taken once its page shows what it is about (the charts
drawn through 10 samples, a crash of the Feed listed), then the app is stopped with SIGTERM.
Needs the dev extra (playwright) and Chromium (scripts/install-chromium.sh).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "observer"))  # the browser tests' helpers

from browser import (  # noqa: E402  (found through the path above)
    WAIT,
    launch_chromium,
    new_page,
    open_page,
    running_app,
    wait_chart_drawn,
    wait_loaded,
)
from playwright.sync_api import Page, expect  # noqa: E402

#: The pages shot, in order: the name in the file, and how to get there.
PAGES = ("overview", "processes", "process", "tree", "crashes")


def show(page: Page, name: str, process: str) -> None:
    """Bring the dashboard to page `name` and wait until it shows its point.

    The "process" page is that of the process registered as `process`.
    """
    if name == "overview":
        for chart in ("processes", "messages", "memory"):
            # One sample a second: ten take ten seconds, and more on a busy machine.
            wait_chart_drawn(page, chart, samples=10, timeout=WAIT + 10_000)
    elif name == "processes":
        open_page(page, "processes")
        first = page.locator("tr[data-testid=process-row]").first
        expect(first.locator("td[data-col=name]")).to_have_text("audit", timeout=WAIT)
    elif name == "process":
        row = page.locator("tr[data-testid=process-row]").filter(
            has=page.locator("td[data-col=name]", has_text=re.compile(rf"^\s*{process}\s*$"))
        )
        row.first.click()
        wait_loaded(page, "process")
        expect(page.locator("[data-testid=process-state]")).not_to_be_empty(timeout=WAIT)
    elif name == "tree":
        open_page(page, "tree")
        root = page.locator("[data-testid=tree-node][data-id=app]")
        expect(root.locator("[data-testid=tree-node][data-id=jobs]")).to_be_visible(timeout=WAIT)
    elif name == "crashes":
        open_page(page, "crashes")
        feed = page.locator("[data-testid=crash-item]").filter(has_text=re.compile("feed", re.I))
        expect(feed.first).to_be_visible(timeout=WAIT)


def main() -> None:
    parser = argparse.ArgumentParser(description="Save screenshots of the dashboard.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument(
        "--process",
        default="stats",
        help="the process whose page is shot (stats: it shows its state)",
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with running_app("app@127.0.0.1") as app, launch_chromium() as browser:
        with new_page(browser) as page:
            page.goto(app.url)
            wait_loaded(page, "overview")
            for name in PAGES:
                show(page, name, args.process)
                path = out / f"observer-{name}.png"
                page.screenshot(path=str(path))
                print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
