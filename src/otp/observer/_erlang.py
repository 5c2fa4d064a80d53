"""The observer's view of an Erlang or Elixir node, through Erlang's own builtins.

Such a node has no `otp.observer._probe`, so each view is rebuilt from
`erlang:processes/0`, `erlang:process_info/2` (one erpc per process,
at most `CAP` processes: an Erlang node runs ~100 of its own) and
`erlang:memory/0`. The supervision tree, tables, registries and crash
reports are not available for Erlang nodes (`NotAvailable`).
"""

from __future__ import annotations

import asyncio
import time

import otp
from otp import Atom

from . import _probe

#: The most processes of an Erlang node the observer reads.
CAP = 3000
ITEMS = [
    Atom(a)
    for a in (
        "registered_name",
        "initial_call",
        "status",
        "message_queue_len",
        "memory",
        "reductions",
        "current_function",
    )
]


class NotAvailable(Exception):
    """This view is not available for Erlang nodes."""


def _mfa(value: object) -> str | None:
    if isinstance(value, tuple) and len(value) == 3:
        return f"{value[0]}:{value[1]}/{value[2]}"
    return None


def _row(pid: otp.Pid, items: object) -> dict[str, object] | None:
    if not isinstance(items, list):
        return None  # the process died meanwhile (`undefined`)
    info = {str(k): v for k, v in (i for i in items if isinstance(i, tuple) and len(i) == 2)}
    name = info.get("registered_name")
    return {
        "pid": str(pid),
        "name": str(name) if isinstance(name, Atom) else None,
        "behaviour": None,
        "initial_call": _mfa(info.get("initial_call")),
        "status": str(info.get("status")),
        "queue": info.get("message_queue_len", 0),
        "memory": info.get("memory", 0),
        "handled": info.get("reductions", 0),  # Erlang counts reductions, not messages
        "current": _mfa(info.get("current_function")),
    }


class ErlangNode:
    """Reads one Erlang node; remembers its pids by text for the process page."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.pids: dict[str, otp.Pid] = {}

    async def call(self, module: str, fn: str, args: list[object]) -> object:
        return await otp.erpc.call(self.node, module, fn, args, timeout=5.0)

    async def _pids(self) -> list[otp.Pid]:
        pids = await self.call("erlang", "processes", [])
        found = [p for p in pids if isinstance(p, otp.Pid)] if isinstance(pids, list) else []
        self.pids = {str(p): p for p in found[:CAP]}
        return found[:CAP]

    async def rows(self) -> list[dict[str, object]]:
        pids = await self._pids()
        infos = await asyncio.gather(
            *(self.call("erlang", "process_info", [p, ITEMS]) for p in pids),
            return_exceptions=True,
        )
        out = []
        for pid, items in zip(pids, infos, strict=True):
            row = None if isinstance(items, BaseException) else _row(pid, items)
            if row is not None:
                out.append(row)
        return out

    async def processes_page(
        self, sort: str, order: str, filter: str, offset: int, limit: int
    ) -> dict[str, object]:
        return _probe.page_of(await self.rows(), sort, order, filter, offset, limit)

    async def memory(self) -> int:
        total = await self.call("erlang", "memory", [Atom("total")])
        return total if isinstance(total, int) else 0

    async def sample(self) -> dict[str, object]:
        count = await self.call("erlang", "system_info", [Atom("process_count")])
        return {
            "time": time.time(),
            "processes": count if isinstance(count, int) else 0,
            "handled": None,
            "memory": await self.memory(),
        }

    async def overview(self) -> dict[str, object]:
        count = await self.call("erlang", "system_info", [Atom("process_count")])
        wall = await self.call("erlang", "statistics", [Atom("wall_clock")])
        release = await self.call("erlang", "system_info", [Atom("otp_release")])
        nodes = await self.call("erlang", "nodes", [[Atom("visible"), Atom("hidden")]])
        return {
            "node": self.node,
            "processes": count if isinstance(count, int) else 0,
            "memory": await self.memory(),
            "uptime": wall[0] / 1000 if isinstance(wall, tuple) else None,
            "nodes": [str(n) for n in nodes] if isinstance(nodes, list) else [],
            "otp_release": _text(release),
            "kind": "erlang",
        }

    async def process(self, text: str) -> dict[str, object] | None:
        if text not in self.pids:
            await self._pids()
        pid = self.pids.get(text)
        if pid is None:
            return None
        items = [*ITEMS, Atom("links"), Atom("monitors"), Atom("trap_exit")]
        info = await self.call("erlang", "process_info", [pid, items])
        row = _row(pid, info)
        if row is None or not isinstance(info, list):
            return None
        extra = {str(k): v for k, v in info if isinstance(k, Atom)}
        monitors = extra.get("monitors")
        row.update(
            links=[str(p) for p in _as_list(extra.get("links"))],
            monitors=[str(m[1]) for m in _as_list(monitors) if isinstance(m, tuple)],
            trap_exit=extra.get("trap_exit") == Atom("true") or extra.get("trap_exit") is True,
            state=await self._state(pid),
            node=self.node,
        )
        return row

    async def _state(self, pid: otp.Pid) -> str:
        try:
            return repr(await self.call("sys", "get_state", [pid, 1000]))
        except otp.Exit as exc:
            return f"(no state: not a behaviour process, or busy: {exc.reason!r})"

    async def kill(self, text: str) -> bool:
        pid = self.pids.get(text)
        if pid is None:
            return False
        await self.call("erlang", "exit", [pid, Atom("kill")])
        return True


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(c, int) for c in value):
        return bytes(value).decode(errors="replace")  # an Erlang string
    return None if value is None else str(value)
