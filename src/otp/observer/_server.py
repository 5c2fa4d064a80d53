"""The observer's web server (aiohttp): the page, its JSON API and the guards.

The only module of otp that imports aiohttp; `otp.observer.start_link`
imports it on first use. Each request passes three guards before its
handler runs:

    Host header   must name the bound host, localhost or 127.0.0.1 (else 403):
                  a DNS-rebinding page cannot reach the API through its own name.
    token         when one is in force: `?token=` (which also sets an HttpOnly,
                  SameSite=Strict cookie), the cookie, or `Authorization: Bearer`
                  (else 401, with a page saying how to get in).
    POST          needs the header `X-Otp-Observer: 1` and an Origin of this
                  very host (else 403): another site's form cannot kill processes.

The server runs in the observer's own process (`serve`), which also takes
one sample a second for the charts (`Sampler.run`: fewer on a node so big
that sampling would take over a tenth of the loop's time), and stops it
when the process ends.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp  # noqa: F401  (the extra: fail here, not at the first request)
from aiohttp import web

import otp

from ._erlang import NotAvailable
from ._sampler import Sampler
from ._sources import Sources

STATIC = Path(__file__).parent / "_static"
COOKIE = "otp_observer_token"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class Config:
    """What `start_link` was given (the port is known once bound)."""

    host: str
    token: str | None
    allow_kill: bool
    focus: str | None
    port: int = 0


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def _host_of(header: str) -> str:
    """The host part of a Host header: `[::1]:8000` -> `::1`, `a:80` -> `a`."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _token_ok(request: web.Request, token: str) -> bool:
    given = request.query.get("token") or request.cookies.get(COOKIE)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        given = auth[len("Bearer ") :]
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


UNAUTHORIZED_PAGE = """<!doctype html><meta charset="utf-8"><title>otp observer</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Token needed</h1><p>This observer is protected by a token. Open the full address
printed when it started (it ends in <code>?token=...</code>), or send the header
<code>Authorization: Bearer TOKEN</code>.</p>"""


def _guard(config: Config) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        host = _host_of(request.headers.get("Host", ""))
        if host not in (config.host, *LOCAL_HOSTS):
            return _error(403, f"refused: Host {host!r} is not this observer's address")
        if config.token is not None and not _token_ok(request, config.token):
            if request.path.startswith("/api/"):
                return _error(401, "a token is needed: ?token=..., or Authorization: Bearer")
            return web.Response(status=401, text=UNAUTHORIZED_PAGE, content_type="text/html")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if request.headers.get("X-Otp-Observer") != "1":
                return _error(403, "refused: a POST needs the header X-Otp-Observer: 1")
            if origin != f"http://{request.host}":
                return _error(403, f"refused: Origin {origin!r} is not this observer")
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException:
            raise
        except NotAvailable as exc:
            return web.json_response({"available": False, "reason": str(exc)})
        except ValueError as exc:
            return _error(400, str(exc))
        except (otp.NoConnection, otp.CallTimeout, otp.Exit) as exc:
            return _error(502, f"the node did not answer: {type(exc).__name__}: {exc}")
        if config.token is not None and request.query.get("token") == config.token:
            response.set_cookie(COOKIE, config.token, httponly=True, samesite="Strict")
        return response

    return guard


class Api:
    """The JSON handlers; `node=` in the query selects the node (default: the focus)."""

    def __init__(self, config: Config, sources: Sources, sampler: Sampler) -> None:
        self.config = config
        self.sources = sources
        self.sampler = sampler

    def node(self, request: web.Request) -> str:
        node = request.query.get("node") or self.config.focus or otp.node()
        if node != otp.node() and node not in otp.nodes():
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"node {node!r} is not connected", "status": 404}),
                content_type="application/json",
            )
        self.sampler.watch(node)
        return node

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def overview(self, request: web.Request) -> web.Response:
        node = self.node(request)
        data = dict(await self.sources.call(node, "overview"))
        latest = self.sampler.latest(node)
        data.update(
            message_rate=latest.get("rate") if latest else None,
            here=otp.node(),
            focus=self.config.focus or otp.node(),
            allow_kill=self.config.allow_kill,
        )
        return web.json_response(data)

    async def series(self, request: web.Request) -> web.Response:
        node = self.node(request)
        return web.json_response({"node": node, "samples": self.sampler.series(node)})

    async def processes(self, request: web.Request) -> web.Response:
        q = request.query
        args = (
            q.get("sort", "queue"),
            q.get("order", "desc"),
            q.get("filter", ""),
            _int(q.get("offset", "0"), "offset"),
            _int(q.get("limit", "50"), "limit"),
        )
        return web.json_response(
            await self.sources.call(self.node(request), "processes_page", *args)
        )

    async def process(self, request: web.Request) -> web.Response:
        pid = request.query.get("pid")
        if not pid:
            raise ValueError("pass the process as ?pid=<0.42.0>")
        node = self.node(request)
        info = await self.sources.call(node, "process", pid)
        if info is None:
            return _error(404, f"no process {pid} is alive on {node}")
        return web.json_response({**info, "allow_kill": self.config.allow_kill})

    async def listing(self, request: web.Request, fn: str, key: str) -> web.Response:
        node = self.node(request)
        if self.sources.kind(node) == "erlang":
            raise NotAvailable(f"the {fn} view is not available for Erlang nodes")
        items = await self.sources.call(node, fn)
        return web.json_response({"node": node, "available": True, key: items})

    async def tree(self, request: web.Request) -> web.Response:
        return await self.listing(request, "tree", "roots")

    async def tables(self, request: web.Request) -> web.Response:
        return await self.listing(request, "tables", "tables")

    async def registries(self, request: web.Request) -> web.Response:
        return await self.listing(request, "registries", "registries")

    async def crashes(self, request: web.Request) -> web.Response:
        return await self.listing(request, "crashes", "crashes")

    async def nodes(self, request: web.Request) -> web.Response:
        here = otp.node()
        rows = [{"name": here, "visible": True, "this": True, "processes": len(otp.processes())}]
        for name in otp.nodes():
            try:
                count = (await self.sources.call(name, "overview")).get("processes")
            except Exception:  # unreachable right now: shown as unknown
                count = None
            rows.append(
                {
                    "name": name,
                    "visible": _visible(name),
                    "this": False,
                    "processes": count,
                    "kind": self.sources.kind(name),
                }
            )
        return web.json_response({"nodes": rows})

    async def kill(self, request: web.Request) -> web.Response:
        if not self.config.allow_kill:
            return _error(403, "killing is off: start the observer with allow_kill=True")
        try:
            body = await request.json()
        except ValueError:
            raise ValueError('send a JSON body such as {"pid": "<0.42.0>"}') from None
        pid = body.get("pid") if isinstance(body, dict) else None
        if not isinstance(pid, str):
            raise ValueError('send a JSON body such as {"pid": "<0.42.0>"}')
        killed = await self.sources.call(self.node(request), "kill", pid)
        if not killed:
            return _error(404, f"no process {pid} is alive")
        return web.json_response({"killed": pid})


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer; got {text!r}") from None


def _visible(name: str) -> bool:
    from .._runtime._scheduler import current_node

    conns = getattr(current_node().dist, "conns", {})
    return bool(getattr(conns.get(name), "published", False))


def make_app(config: Config, sources: Sources, sampler: Sampler) -> web.Application:
    """The web application: the page, its static files and `/api/...`."""
    api = Api(config, sources, sampler)
    app = web.Application(middlewares=[_guard(config)])
    r = app.router
    r.add_get("/", api.index)
    r.add_static("/static/", STATIC)
    r.add_get("/api/overview", api.overview)
    r.add_get("/api/series", api.series)
    r.add_get("/api/processes", api.processes)
    r.add_get("/api/process", api.process)
    r.add_get("/api/tree", api.tree)
    r.add_get("/api/tables", api.tables)
    r.add_get("/api/registries", api.registries)
    r.add_get("/api/crashes", api.crashes)
    r.add_get("/api/nodes", api.nodes)
    r.add_post("/api/kill", api.kill)
    return app


async def serve(config: Config, port: int, ready: Any) -> None:
    """The observer's process: listen, resolve `ready` with the port, sample each second."""
    sources = Sources()
    sampler = Sampler(sources)
    runner = web.AppRunner(make_app(config, sources, sampler), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, port)
        await site.start()
    except Exception as exc:  # the port is taken, the host unknown: start_link raises it
        await runner.cleanup()
        ready.set_exception(exc)
        return
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    config.port = sockets[0].getsockname()[1] if sockets else port
    ready.set_result(config.port)
    try:
        await sampler.run()  # until otp.observer.stop sends STOP
    finally:
        await runner.cleanup()
