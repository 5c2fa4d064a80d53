"""The observer's JSON API against a running node, over real HTTP."""

from __future__ import annotations

import sys
from typing import cast

import aiohttp
import pytest
from observer_helpers import Client, Echo, with_observer

import otp


class TestProcesses:
    def test_the_longest_queue_comes_first_and_pages_hold_fifty(self) -> None:
        async def main(c: Client) -> object:
            servers = [await Echo.start_link(i) for i in range(300)]
            busy = servers[123]
            assert busy is not None
            await otp.sys.suspend(busy)
            for i in range(7):
                otp.cast(busy, i)
            _, first = await c.get("/api/processes")
            _, second = await c.get("/api/processes", offset=50)
            return busy, first, second

        busy, first, second = with_observer(main)
        assert first["total"] == first["matched"] >= 301
        assert len(first["rows"]) == 50 and first["offset"] == 0
        assert first["rows"][0]["pid"] == str(busy) and first["rows"][0]["queue"] == 7
        assert first["rows"][0]["status"] == "suspended"
        assert second["offset"] == 50 and len(second["rows"]) == 50
        assert not {r["pid"] for r in first["rows"]} & {r["pid"] for r in second["rows"]}

    def test_filter_and_sort_by_pid_ascending(self) -> None:
        async def main(c: Client) -> object:
            pids = [await Echo.start_link(i) for i in range(3)]
            otp.register("the_cache", cast(otp.Pid, pids[1]))
            _, named = await c.get("/api/processes", filter="THE_CACHE")
            _, by_pid = await c.get("/api/processes", sort="pid", order="asc", limit=500)
            _, echo = await c.get("/api/processes", filter="observer_helpers.Echo")
            return pids, named, by_pid, echo

        pids, named, by_pid, echo = with_observer(main)
        assert [r["pid"] for r in named["rows"]] == [str(pids[1])]
        assert named["rows"][0]["name"] == "the_cache"
        ids = [int(r["pid"].split(".")[1]) for r in by_pid["rows"]]
        assert ids == sorted(ids)
        assert echo["matched"] == 3
        assert echo["rows"][0]["behaviour"] == "Echo"

    def test_a_bad_sort_key_says_what_to_pass(self) -> None:
        async def main(c: Client) -> object:
            return await c.get("/api/processes", sort="colour")

        status, body = with_observer(main)
        assert status == 400 and "sort must be one of" in body["error"]


class TestProcess:
    def test_links_monitors_and_state(self) -> None:
        async def main(c: Client) -> object:
            pid = await Echo.start_link({"answer": 42})
            otp.monitor(pid)
            _, me = await c.get("/api/process", pid=str(otp.self()))
            _, server = await c.get("/api/process", pid=str(pid))
            return pid, me, server

        pid, me, server = with_observer(main)
        assert str(pid) in me["links"] and str(pid) in me["monitors"]
        assert server["state"] == "{'answer': 42}"
        assert server["initial_call"] == "observer_helpers.Echo"
        assert server["allow_kill"] is False

    def test_a_dead_pid_is_404(self) -> None:
        async def main(c: Client) -> object:
            return await c.get("/api/process", pid="<0.9999.0>")

        status, body = with_observer(main)
        assert status == 404 and "no process" in body["error"]


class TestTree:
    def test_a_nested_tree(self) -> None:
        async def main(c: Client) -> object:
            inner = (
                otp.Supervisor.child_spec([(Echo, 1)], id="inner")
                if hasattr(otp.Supervisor, "child_spec")
                else None
            )
            assert inner is not None
            await otp.Supervisor.start_link([(Echo, 0), inner], name="top")
            return await c.get("/api/tree")

        _, tree = with_observer(main)
        (root,) = tree["roots"]
        assert root["name"] == "top" and root["behaviour"] == "Supervisor"
        kinds = {child["id"]: child for child in root["children"]}
        assert sorted(kinds) == ["Echo", "inner"]  # a class id reads as its name
        assert kinds["inner"]["behaviour"] == "Supervisor"
        assert [c["behaviour"] for c in kinds["inner"]["children"]] == ["Echo"]


class TestTablesRegistriesCrashes:
    def test_tables_and_registries_are_listed(self) -> None:
        async def main(c: Client) -> object:
            table = otp.Table(name="sessions", access="public")
            table.insert([("a", 1), ("b", 2)])
            await otp.Registry.start_link(keys="duplicate", name="topics", partitions=2)
            otp.Registry.register("topics", "news", None)
            return (await c.get("/api/tables"))[1], (await c.get("/api/registries"))[1]

        tables, registries = with_observer(main)
        (t,) = [t for t in tables["tables"] if t["name"] == "sessions"]
        assert (t["size"], t["access"], t["type"]) == (2, "public", "set")
        (r,) = registries["registries"]
        assert (r["name"], r["keys"], r["partitions"], r["size"]) == ("topics", "duplicate", 2, 1)

    def test_crash_reports_come_newest_first(self) -> None:
        async def crash(word: str) -> None:
            raise RuntimeError(word)

        async def main(c: Client) -> object:
            for word in ("boom", "bang"):
                otp.spawn_monitor(crash, word)
                await otp.receive(match=lambda m: isinstance(m, otp.Down))
            return await c.get("/api/crashes")

        _, body = with_observer(main)
        reasons = [r["reason"] for r in body["crashes"]]
        assert len(reasons) == 2 and "bang" in reasons[0] and "boom" in reasons[1], reasons
        assert "RuntimeError: bang" in body["crashes"][0]["report"]


class TestOverview:
    def test_overview_series_and_nodes(self) -> None:
        async def main(c: Client) -> object:
            return [(await c.get(p))[1] for p in ("/api/overview", "/api/series", "/api/nodes")]

        overview, series, nodes = with_observer(main)
        assert overview["node"] == "nonode@nohost" and overview["processes"] >= 2
        assert overview["memory"] > 0 and overview["allow_kill"] is False
        assert series["samples"] and series["samples"][0]["processes"] >= 1
        assert nodes["nodes"] == [
            {"name": "nonode@nohost", "visible": True, "this": True, "processes": 2}
        ]

    def test_otp_run_with_observer_serves_and_logs(self, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> object:
            obs = otp.observer.current()
            assert obs is not None
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{obs.port}/api/overview") as r:
                    return obs.url, (await r.json())["node"]

        with caplog.at_level("INFO", logger="otp.observer"):
            url, node = cast(tuple[str, str], otp.run(main, observer=0))
        assert node == "nonode@nohost"
        assert url in caplog.text

    def test_the_page_and_its_files_are_served(self) -> None:
        async def main(c: Client) -> object:
            out = []
            for path in ("/", "/static/app.js", "/static/style.css"):
                async with c.session.get(c.base + path) as r:
                    out.append((r.status, len(await r.text()) > 100))
            return out

        assert with_observer(main) == [(200, True)] * 3


class TestSecurity:
    def test_a_token_is_needed_then_kept_in_a_cookie(self) -> None:
        async def main(c: Client) -> object:
            out = [(await c.get("/api/overview"))[0]]
            async with c.session.get(c.base + "/") as r:
                out.append(r.status)
            async with c.session.get(c.base + "/", params={"token": "s3cret"}) as r:
                out.append(r.status)
            out.append((await c.get("/api/overview"))[0])  # the cookie now
            async with aiohttp.ClientSession() as fresh:
                auth = {"Authorization": "Bearer s3cret"}
                async with fresh.get(c.base + "/api/overview", headers=auth) as r:
                    out.append(r.status)
            return out, c.obs.url

        statuses, url = with_observer(main, token="s3cret")
        assert statuses == [401, 401, 200, 200, 200]
        assert url.endswith("/?token=s3cret")

    def test_another_host_name_is_refused(self) -> None:
        async def main(c: Client) -> object:
            headers = {"Host": "evil.example:80"}
            async with c.session.get(c.base + "/api/overview", headers=headers) as r:
                return r.status, await r.json()

        status, body = with_observer(main)
        assert status == 403 and "evil.example" in body["error"]

    def test_kill_is_refused_unless_allowed(self) -> None:
        async def main(c: Client) -> object:
            pid = cast(otp.Pid, await Echo.start(0))
            return await c.post("/api/kill", {"pid": str(pid)}), otp.is_alive(pid)

        (status, body), alive = with_observer(main)
        assert status == 403 and "allow_kill=True" in body["error"] and alive

    def test_kill_when_allowed_needs_the_header_and_origin(self) -> None:
        async def main(c: Client) -> object:
            pid = await Echo.start(0)
            ref = otp.monitor(pid)
            no_header = await c.post("/api/kill", {"pid": str(pid)}, **{"X-Otp-Observer": "0"})
            other_site = await c.post("/api/kill", {"pid": str(pid)}, Origin="http://evil")
            killed = await c.post("/api/kill", {"pid": str(pid)})
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return no_header[0], other_site[0], killed, down

        no_header, other_site, killed, down = with_observer(main, allow_kill=True)
        assert (no_header, other_site) == (403, 403)
        assert killed[0] == 200
        assert isinstance(down, otp.Down) and down.reason == "killed"

    def test_a_public_address_gets_a_generated_token(self) -> None:
        async def main() -> object:
            obs = await otp.observer.start_link(port=0, host="0.0.0.0")
            await otp.observer.stop(obs)
            return obs.url

        url = cast(str, otp.run(main))
        assert "?token=" in url and len(url.split("?token=")[1]) >= 24


class TestMissingExtra:
    def test_start_link_says_how_to_install_aiohttp(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "aiohttp", None)
        monkeypatch.delitem(sys.modules, "otp.observer._server", raising=False)
        monkeypatch.delattr(otp.observer, "_server", raising=False)

        async def main() -> object:
            with pytest.raises(ImportError) as info:
                await otp.observer.start_link(port=0)
            return str(info.value)

        assert otp.run(main) == "the observer needs aiohttp: pip install 'otp[observer]'"

    def test_importing_otp_does_not_import_aiohttp(self) -> None:
        import subprocess

        code = "import sys, otp; print('aiohttp' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False"
