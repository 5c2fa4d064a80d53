"""The dashboard in a real browser, watching the example application.

One `examples/app.py --observer 0 --seconds 0` runs for the whole module
(stopped by SIGTERM at the end, exit status 143) and one headless Chromium
clicks through its dashboard: the overview's numbers and charts, the
process table (sorting, filter, paging), one process, the supervision
tree, tables, registries, nodes and crash reports. Each check waits on the
DOM (playwright's `expect`), bounded by `browser.WAIT`: the dashboard
refreshes itself, so what it shows may take a refresh or two to appear.

The app's tree: Supervisor "app" with children `stats`, `jobs` (Worker
processes under a DynamicSupervisor), `dispatcher`, `feed` (crashes now
and then), `reporter` and `audit` (always the longest message queue),
with a Registry "sessions" and a Table "seen".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import (
    ROUTES,
    WAIT,
    App,
    launch_chromium,
    new_page,
    open_page,
    running_app,
    wait_chart_drawn,
    wait_loaded,
)
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

#: The children of the app's top supervisor, by child id or registered name.
CHILDREN = ("audit", "stats", "sessions", "jobs", "dispatcher", "feed", "reporter")

PID = re.compile(r"<\d+\.\d+\.\d+>")


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    with running_app(f"dash{os.getpid()}@127.0.0.1") as app:
        yield app


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(app: App, chromium: Browser) -> Iterator[Page]:
    """A fresh browser page at the dashboard's overview, its first data shown."""
    with new_page(chromium) as page:
        page.goto(app.url)
        wait_loaded(page, "overview")
        yield page


def number(text: str) -> int:
    """The first whole number in `text` ("1,234 processes" -> 1234)."""
    match = re.search(r"\d[\d,_\s]*", text)
    assert match is not None, f"no number in {text!r}"
    return int(re.sub(r"\D", "", match.group()))


class TestNavigation:
    def test_every_link_opens_its_page(self, page: Page) -> None:
        for route in (*ROUTES[1:], ROUTES[0]):  # from the overview, and back to it
            open_page(page, route)
            assert unquote(page.url).endswith(f"#/{route}")


class TestOverview:
    def test_shows_the_node_numbers(self, page: Page) -> None:
        overview = page.locator("[data-testid=overview]")
        for value in ("processes", "memory", "message-rate"):
            expect(overview.locator(f"[data-testid=overview-{value}]")).to_have_text(
                re.compile(r"\d"), timeout=WAIT
            )
        # main, app, its seven children (Registry "sessions" too), the observer: ten.
        assert number(overview.locator("[data-testid=overview-processes]").inner_text()) >= 10

    @pytest.mark.parametrize("chart", ["processes", "messages", "memory"])
    def test_draws_a_chart_once_samples_arrive(self, page: Page, chart: str) -> None:
        wait_chart_drawn(page, chart)

    def test_node_select_offers_the_app_node(self, page: Page, app: App) -> None:
        select = page.locator("select[data-testid=node-select]")
        expect(select.locator(f"option[value='{app.node}']")).to_have_count(1, timeout=WAIT)
        expect(select).to_have_value(app.node, timeout=WAIT)


#: The rows' values of one column (by `data-col`), read in one go.
COLUMN = """(col) => [...document.querySelectorAll(
    "table[data-testid=process-table] tr[data-testid=process-row]")].map(
    (row) => row.querySelector(`td[data-col=${col}]`)?.textContent.trim() ?? "")"""

#: True when the queue column is in the given order and the first row is named so or not.
QUEUE_ORDER = (
    """([order, first, wanted]) => {
    const column = """
    + COLUMN
    + """;
    const queues = column("queue").map((text) => Number(text.replace(/\\D/g, "")));
    const names = column("name");
    if (queues.length < 2) return false;
    const sorted = queues.every((q, i) =>
        i === 0 || (order === "desc" ? queues[i - 1] >= q : queues[i - 1] <= q));
    return sorted && (names[0] === first) === wanted;
}"""
)


class TestProcesses:
    def test_sorts_by_queue_longest_first_with_audit_on_top(self, page: Page) -> None:
        open_page(page, "processes")
        rows = page.locator("table[data-testid=process-table] tr[data-testid=process-row]")
        expect(rows.first.locator("td[data-col=name]")).to_have_text("audit", timeout=WAIT)
        page.wait_for_function(QUEUE_ORDER, arg=["desc", "audit", True], timeout=WAIT)
        assert number(page.locator("[data-testid=process-total]").inner_text()) >= 10

    def test_clicking_the_queue_header_toggles_the_order(self, page: Page) -> None:
        open_page(page, "processes")
        header = page.locator("table[data-testid=process-table] th[data-sort=queue]")
        page.wait_for_function(QUEUE_ORDER, arg=["desc", "audit", True], timeout=WAIT)
        header.click()
        page.wait_for_function(QUEUE_ORDER, arg=["asc", "audit", False], timeout=WAIT)
        header.click()
        page.wait_for_function(QUEUE_ORDER, arg=["desc", "audit", True], timeout=WAIT)

    def test_has_a_sort_header_and_a_cell_for_every_column(self, page: Page) -> None:
        open_page(page, "processes")
        table = page.locator("table[data-testid=process-table]")
        expect(table.locator("tr[data-testid=process-row]").first).to_be_visible(timeout=WAIT)
        for key in ("pid", "name", "behaviour", "status", "queue", "memory", "handled", "current"):
            expect(table.locator(f"th[data-sort={key}]")).to_have_count(1)
            cell = table.locator(f"tr[data-testid=process-row] td[data-col={key}]").first
            expect(cell).to_be_attached(timeout=WAIT)

    @pytest.mark.parametrize(("text", "column"), [("audit", "name"), ("Worker", "behaviour")])
    def test_the_filter_narrows_the_rows(self, page: Page, text: str, column: str) -> None:
        open_page(page, "processes")
        rows = page.locator("table[data-testid=process-table] tr[data-testid=process-row]")
        expect(rows.nth(2)).to_be_attached(timeout=WAIT)  # more than two unfiltered
        page.locator("input[data-testid=process-filter]").fill(text)
        page.wait_for_function(
            """(text) => {
                const rows = [...document.querySelectorAll(
                    "table[data-testid=process-table] tr[data-testid=process-row]")];
                return rows.length > 0 && rows.every((row) => row.textContent.includes(text));
            }""",
            arg=text,
            timeout=WAIT,
        )
        if text == "audit":
            expect(rows).to_have_count(1, timeout=WAIT)
            expect(rows.first.locator(f"td[data-col={column}]")).to_have_text(text)
        else:
            expect(rows.first.locator(f"td[data-col={column}]")).to_contain_text(text)


class TestProcess:
    def test_a_clicked_row_opens_its_process_page(self, page: Page) -> None:
        open_page(page, "processes")
        page.locator("input[data-testid=process-filter]").fill("stats")
        row = page.locator("tr[data-testid=process-row]").filter(
            has=page.locator("td[data-col=name]", has_text=re.compile(r"^\s*stats\s*$"))
        )
        expect(row).to_have_count(1, timeout=WAIT)
        pid = row.get_attribute("data-pid")
        assert pid is not None and PID.fullmatch(pid), pid
        row.click()
        wait_loaded(page, "process")
        assert unquote(page.url).endswith(f"#/process/{pid}")
        detail = page.locator("[data-testid=process-detail]")
        expect(detail).to_be_visible(timeout=WAIT)
        expect(detail).to_contain_text(pid)
        # Linked to its supervisor, "app".
        expect(detail.locator("[data-testid=process-links]")).to_have_text(PID, timeout=WAIT)
        expect(detail.locator("[data-testid=process-monitors]")).to_be_attached()
        expect(detail.locator("[data-testid=process-state]")).not_to_be_empty(timeout=WAIT)

    def test_the_busiest_process_opens_too(self, page: Page) -> None:
        open_page(page, "processes")
        first = page.locator("tr[data-testid=process-row]").first
        expect(first.locator("td[data-col=name]")).to_have_text("audit", timeout=WAIT)
        first.click()
        wait_loaded(page, "process")
        detail = page.locator("[data-testid=process-detail]")
        expect(detail).to_contain_text("audit", timeout=WAIT)
        expect(detail.locator("[data-testid=process-state]")).not_to_be_empty(timeout=WAIT)

    def test_has_no_kill_button_by_default(self, page: Page) -> None:
        open_page(page, "processes")
        page.locator("input[data-testid=process-filter]").fill("stats")
        row = page.locator("tr[data-testid=process-row]").filter(has_text="stats").first
        row.click()
        wait_loaded(page, "process")
        expect(page.locator("[data-testid=process-detail]")).to_be_visible(timeout=WAIT)
        expect(page.locator("button[data-testid=kill-button]")).to_have_count(0)


#: True when the tree's root "app" has, nested in it, a node for each of the
#: given children: by its child id (`data-id`), or, for a child whose id is
#: its class (the default), by the name it is registered under.
CHILDREN_NESTED = """(names) => {
    const root = document.querySelector(
        "[data-testid=supervision-tree] [data-testid=tree-node][data-id=app]");
    if (!root) return false;
    const own = (node) => {
        const copy = node.cloneNode(true);
        copy.querySelectorAll("[data-testid=tree-node]").forEach((inner) => inner.remove());
        return copy.textContent;
    };
    const nested = [...root.querySelectorAll("[data-testid=tree-node]")];
    return names.every((name) => nested.some((node) =>
        node.dataset.id === name || own(node).split(/\\W+/).includes(name)));
}"""


class TestTree:
    def test_shows_app_with_its_children_nested(self, page: Page) -> None:
        open_page(page, "tree")
        tree = page.locator("[data-testid=supervision-tree]")
        expect(tree.locator("[data-testid=tree-node][data-id=app]")).to_have_count(1, timeout=WAIT)
        try:
            page.wait_for_function(CHILDREN_NESTED, arg=list(CHILDREN), timeout=WAIT)
        except PlaywrightTimeout:
            ids = tree.locator("[data-testid=tree-node]").evaluate_all(
                "(nodes) => nodes.map((node) => node.dataset.id)"
            )
            pytest.fail(f"the tree does not nest {CHILDREN} under app; its node ids: {ids}")

    def test_nests_the_workers_under_jobs(self, page: Page) -> None:
        open_page(page, "tree")
        root = page.locator("[data-testid=tree-node][data-id=app]")
        jobs = root.locator("[data-testid=tree-node][data-id=jobs]")
        expect(jobs.locator("[data-testid=tree-node]").first).to_contain_text(
            "Worker", timeout=WAIT
        )


class TestOtherPages:
    @pytest.mark.parametrize(
        ("route", "rows", "text"),
        [
            ("tables", "table[data-testid=tables-table] tr[data-testid=table-row]", "seen"),
            (
                "registries",
                "table[data-testid=registries-table] tr[data-testid=registry-row]",
                "sessions",
            ),
        ],
    )
    def test_lists_the_apps_named_one(self, page: Page, route: str, rows: str, text: str) -> None:
        open_page(page, route)
        expect(page.locator(rows).filter(has_text=text)).to_have_count(1, timeout=WAIT)

    def test_nodes_lists_the_app_node(self, page: Page, app: App) -> None:
        open_page(page, "nodes")
        table = page.locator("table[data-testid=nodes-table]")
        row = table.locator(f"tr[data-testid=node-row][data-node='{app.node}']")
        expect(row).to_have_count(1, timeout=WAIT)
        expect(row).to_contain_text(app.node)

    def test_crashes_shows_a_crash_of_the_feed(self, page: Page) -> None:
        open_page(page, "crashes")
        items = page.locator("[data-testid=crash-list] [data-testid=crash-item]")
        expect(items.filter(has_text=re.compile("feed", re.IGNORECASE)).first).to_be_visible(
            timeout=WAIT
        )


#: A bare node serving its dashboard: `--token`, `--processes N` (see its docstring).
DASHBOARD_NODE = Path(__file__).resolve().parent / "dashboard_node.py"
TOKEN = f"t{os.getpid()}"


@pytest.fixture
def crowded(chromium: Browser) -> Iterator[Page]:
    """The processes page of a node with 120 idle processes: pages of them."""
    node = f"crowd{os.getpid()}@127.0.0.1"
    with running_app(node, "--processes", "120", program=DASHBOARD_NODE) as app:
        with new_page(chromium) as page:
            page.goto(app.url)
            wait_loaded(page, "overview")
            open_page(page, "processes")
            yield page


class TestPaging:
    def test_next_and_previous_move_between_pages(self, crowded: Page) -> None:
        info = crowded.locator("[data-testid=page-info]")
        previous = crowded.locator("[data-testid=page-prev]")
        following = crowded.locator("[data-testid=page-next]")
        rows = crowded.locator("tr[data-testid=process-row]")
        expect(info).to_have_text(re.compile(r"\d"), timeout=WAIT)
        expect(previous).to_be_disabled(timeout=WAIT)  # on the first page
        expect(following).to_be_enabled(timeout=WAIT)
        first_page, first_pid = info.inner_text(), rows.first.get_attribute("data-pid")
        following.click()
        expect(info).not_to_have_text(first_page, timeout=WAIT)
        expect(previous).to_be_enabled(timeout=WAIT)
        expect(rows.first).not_to_have_attribute("data-pid", first_pid or "", timeout=WAIT)
        previous.click()
        expect(info).to_have_text(first_page, timeout=WAIT)
        expect(previous).to_be_disabled(timeout=WAIT)


@pytest.fixture
def guarded() -> Iterator[App]:
    """A node whose dashboard needs the token TOKEN."""
    node = f"token{os.getpid()}@127.0.0.1"
    with running_app(node, "--token", TOKEN, program=DASHBOARD_NODE) as app:
        yield app


class TestToken:
    def test_without_the_token_the_dashboard_answers_401(
        self, guarded: App, chromium: Browser
    ) -> None:
        base = urlsplit(guarded.url)._replace(query="", fragment="").geturl()
        with new_page(chromium) as page:
            response = page.goto(base)
            assert response is not None and response.status == 401, response
            expect(page.locator("body")).not_to_have_attribute("data-loaded", "overview")
            response = page.goto(f"{base}?token={TOKEN}")
            assert response is not None and response.status == 200, response
            wait_loaded(page, "overview")
            open_page(page, "processes")  # the page's own requests carry the token too
