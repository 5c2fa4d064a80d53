"""What the observer reads per process: only the sort key for all, full rows for a page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from observer_helpers import Echo

import otp
from otp._runtime._process import Process
from otp.observer import _probe


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Count the calls of `owner.name` (a list holding the count, kept current)."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


class TestSample:
    def test_counts_processes_and_messages_without_full_snapshots(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refuse(self: object) -> None:
            raise AssertionError("a sample built a full process_info")

        monkeypatch.setattr(Process, "info", refuse)

        async def main() -> Any:
            pid = await Echo.start_link(0)
            assert pid is not None
            for i in range(5):
                await otp.call(pid, i)
            return await _probe.sample()

        got = otp.run(main)
        assert isinstance(got, dict)
        assert got["processes"] == 2 and got["handled"] == 5 and got["memory"] > 0


class TestPage:
    def test_full_rows_are_read_only_for_the_page_shown(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def main() -> Any:
            for i in range(120):
                await Echo.start_link(i)
            calls = count_calls(monkeypatch, Process, "info")
            page = await _probe.processes_page("queue", "desc", "", 100, 10)
            return page, calls[0]

        page, full_reads = otp.run(main)
        assert page["total"] == page["matched"] == 121 and len(page["rows"]) == 10
        assert full_reads == 10

    def test_the_listing_is_shared_for_listing_seconds(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_probe, "LISTING_SECONDS", 3600.0)

        async def main() -> Any:
            await Echo.start_link(0)
            first = await _probe.processes_page("pid", "asc")
            late = await Echo.start_link(1)
            same = await _probe.processes_page("pid", "asc", offset=0, limit=50)
            other = await _probe.processes_page("pid", "desc")
            return first, same, other, str(late)

        first, same, other, late = otp.run(main)
        assert first["matched"] == same["matched"] == 2
        assert late not in [r["pid"] for r in same["rows"]]
        assert other["matched"] == 3 and other["rows"][0]["pid"] == late

    def test_an_old_listing_is_made_again(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_probe, "LISTING_SECONDS", 0.0)

        async def main() -> Any:
            first = await _probe.processes_page()
            await Echo.start_link(0)
            return first, await _probe.processes_page()

        first, second = otp.run(main)
        assert (first["matched"], second["matched"]) == (1, 2)

    def test_pages_asked_together_wait_for_one_listing(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_probe, "LISTING_SECONDS", 3600.0)

        async def main() -> Any:
            for i in range(5):
                await Echo.start_link(i)
            made = count_calls(monkeypatch, _probe, "_sorted_pids")
            pages = await asyncio.gather(
                *(_probe.processes_page("memory", "desc", "", i, 1) for i in range(3))
            )
            return made[0], pages

        made, pages = otp.run(main)
        assert made == 1
        assert len({p["rows"][0]["pid"] for p in pages}) == 3

    def test_sorting_reads_only_the_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def main() -> Any:
            for i in range(30):
                await Echo.start_link(i)
            memory = count_calls(monkeypatch, Process, "memory")
            await _probe.processes_page("handled", "desc", "", 0, 5)
            return memory[0]

        assert otp.run(main) == 5  # the rows shown, not the 31 processes sorted

    def test_a_filter_matches_pid_name_behaviour_and_initial_call(self) -> None:
        async def main() -> Any:
            pid = await Echo.start_link(0)
            assert pid is not None
            otp.register("the_cache", pid)
            out: dict[str, list[object]] = {}
            for needle in ("THE_cache", "echo", str(pid), "observer_helpers.Echo", "nothing"):
                page: Any = await _probe.processes_page("name", "asc", needle)
                out[needle] = [r["pid"] for r in page["rows"]]
            return str(pid), out

        pid, out = otp.run(main)
        assert out == {
            "THE_cache": [pid],
            "echo": [pid],
            pid: [pid],
            "observer_helpers.Echo": [pid],
            "nothing": [],
        }
