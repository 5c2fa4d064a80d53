"""Shared by the observer tests: run `main(client)` on a node serving a dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

import otp


class Client:
    """Requests to one running observer, as the page makes them."""

    def __init__(self, session: aiohttp.ClientSession, obs: otp.observer.Observer) -> None:
        self.session = session
        self.obs = obs
        self.base = f"http://127.0.0.1:{obs.port}"

    async def get(self, path: str, **params: object) -> tuple[int, Any]:
        query = {k: str(v) for k, v in params.items()}
        async with self.session.get(self.base + path, params=query) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None

    async def post(self, path: str, body: object, **headers: str) -> tuple[int, Any]:
        sent = {"X-Otp-Observer": "1", "Origin": self.base, **headers}
        async with self.session.post(self.base + path, json=body, headers=sent) as r:
            return r.status, await r.json()


Main = Callable[[Client], Awaitable[object]]


def with_observer(main: Main, node: str | None = None, **options: Any) -> Any:
    """`otp.run` a node whose main starts an observer and runs `main(client)`."""

    async def run() -> object:
        obs = await otp.observer.start_link(port=0, **options)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            result = await main(Client(session, obs))
        await otp.observer.stop(obs)
        return result

    if node is None:
        return otp.run(run)
    from erlang_nodes import COOKIE

    return otp.run(run, node=node, cookie=COOKIE)


class Echo(otp.GenServer):
    """A GenServer whose state is its argument."""

    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)

    def handle_cast(self, request: object, state: object) -> Any:
        return otp.NoReply(state)
