"""What the observer reads from a node, as plain terms: run here, or there by erpc.

Every function returns only dicts, lists, str, int, float and None (pids as
their `<0.42.0>` text), so that another otp node answers
`otp.erpc.call(node, "otp.observer._probe", "sample", [])` even with
`pickle=False`. Nothing here imports aiohttp.

Reading 100,000 processes takes a while: the loops give the event loop back
every `SLICE` processes (`await asyncio.sleep(0)`), so the node's other
processes keep running while the observer looks at them.

>>> import otp
>>> async def main():
...     sample = await otp.observer._probe.sample()
...     return sample["processes"]
>>> otp.run(main)
1
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import otp

from .._behaviours._registry import registry_summaries
from .._behaviours._table import table_summaries
from .._runtime._process import Process
from .._runtime._scheduler import current_node

#: Processes read between two returns to the event loop.
SLICE = 2000
#: How many rows a processes page may hold.
MAX_LIMIT = 500
SORT_KEYS = ("pid", "name", "behaviour", "status", "queue", "memory", "handled", "current")
SUPERVISORS = ("Supervisor", "DynamicSupervisor")
_STARTED = time.time()


def _pid_text(pid: object) -> str:
    return str(pid)


def _row(pid: otp.Pid, info: dict[str, object]) -> dict[str, object]:
    name = info.get("registered_name")
    return {
        "pid": _pid_text(pid),
        "name": name if isinstance(name, str) else None,
        "behaviour": info.get("behaviour"),
        "initial_call": info.get("initial_call"),
        "status": info.get("status"),
        "queue": info.get("message_queue_len", 0),
        "memory": info.get("memory", 0),
        "handled": info.get("messages_handled", 0),
        "current": info.get("current_function"),
    }


async def rows() -> list[dict[str, object]]:
    """One row per live process of this node (yielding every `SLICE` processes)."""
    out: list[dict[str, object]] = []
    for i, pid in enumerate(otp.processes()):
        if i and i % SLICE == 0:
            await asyncio.sleep(0)
        info = otp.process_info(pid)
        if info is not None:
            out.append(_row(pid, info))
    return out


def _sort_key(key: str) -> Callable[[dict[str, object]], Any]:
    if key == "pid":
        return lambda r: tuple(int(x) for x in str(r["pid"]).strip("<>").split("."))
    if key in ("queue", "memory", "handled"):
        return lambda r: r[key] or 0
    if key == "behaviour":
        return lambda r: str(r["behaviour"] or r["initial_call"] or "")
    return lambda r: str(r[key] or "")


def page_of(
    all_rows: list[dict[str, object]],
    sort: str = "queue",
    order: str = "desc",
    filter: str = "",
    offset: int = 0,
    limit: int = 50,
) -> dict[str, object]:
    """Filter (a substring of pid, name, behaviour, initial call or current), sort, slice.

    >>> rows = [{"pid": "<0.1.0>", "name": "a", "behaviour": None, "initial_call": "m.f",
    ...          "status": "waiting", "queue": 3, "memory": 1, "handled": 0, "current": None},
    ...         {"pid": "<0.2.0>", "name": None, "behaviour": "Cache", "initial_call": "m.C",
    ...          "status": "waiting", "queue": 9, "memory": 1, "handled": 0, "current": None}]
    >>> [r["pid"] for r in page_of(rows)["rows"]]
    ['<0.2.0>', '<0.1.0>']
    >>> page_of(rows, filter="cache")["matched"]
    1
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}; got {sort!r}")
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc'; got {order!r}")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"offset must be >= 0 and limit 1..{MAX_LIMIT}; got {offset}, {limit}")
    matched = all_rows
    needle = filter.strip().lower()
    if needle:
        fields = ("pid", "name", "behaviour", "initial_call", "current", "status")
        matched = [r for r in all_rows if any(needle in str(r[f] or "").lower() for f in fields)]
    matched = sorted(matched, key=_sort_key(sort), reverse=order == "desc")
    return {
        "total": len(all_rows),
        "matched": len(matched),
        "offset": offset,
        "rows": matched[offset : offset + limit],
    }


async def processes_page(
    sort: str = "queue",
    order: str = "desc",
    filter: str = "",
    offset: int = 0,
    limit: int = 50,
) -> dict[str, object]:
    """A page of this node's processes table: `{total, matched, offset, rows}`."""
    return page_of(await rows(), sort, order, filter, offset, limit)


def _memory_rss() -> int:
    """This OS process's resident memory in bytes (/proc/self/statm, else ru_maxrss)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        try:
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return rss if sys.platform == "darwin" else rss * 1024
        except (ImportError, OSError):  # pragma: no cover - not a Unix
            return 0


async def sample() -> dict[str, object]:
    """This node's counters now: processes, messages handled so far, queued, memory.

    `handled` sums `messages_handled` over the live processes: a process that
    died takes its count with it (the sampler clamps the rate at 0).
    """
    handled = queued = procs_memory = count = 0
    for i, pid in enumerate(otp.processes()):
        if i and i % SLICE == 0:
            await asyncio.sleep(0)
        info = otp.process_info(pid)
        if info is None:
            continue
        count += 1
        handled += _int(info.get("messages_handled"))
        queued += _int(info.get("message_queue_len"))
        procs_memory += _int(info.get("memory"))
    return {
        "time": time.time(),
        "processes": count,
        "handled": handled,
        "queued": queued,
        "memory": _memory_rss(),
        "process_memory": procs_memory,
    }


def _int(value: object) -> int:
    return value if type(value) is int else 0


def _uptime() -> float:
    """Seconds since this OS process started (/proc), else since this module loaded."""
    try:
        with open("/proc/self/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as f:
            return float(f.read().split()[0]) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time() - _STARTED


def overview() -> dict[str, object]:
    """The node's name, process count, memory, uptime and connected nodes."""
    return {
        "node": otp.node(),
        "processes": len(otp.processes()),
        "memory": _memory_rss(),
        "uptime": _uptime(),
        "nodes": otp.nodes(),
        "python": sys.version.split()[0],
        "kind": "python",
    }


def find_local(text: str) -> Process | None:
    """The live process of this node whose pid reads `text` (`<0.42.0>`), or None."""
    parts = text.strip().strip("<>").split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"a pid is written like <0.42.0>; got {text!r}")
    proc = current_node().procs.get(int(parts[1]))
    return proc if proc is not None and str(proc) == f"<{'.'.join(parts)}>" else None


async def process(text: str) -> dict[str, object] | None:
    """One process: its info, links, monitors, and its state through `format_status`."""
    proc = find_local(text)
    info = otp.process_info(proc) if proc is not None else None
    if proc is None or info is None:
        return None
    state: str | None = None
    if proc.behaviour is not None:
        try:
            status = await otp.sys.get_status(proc, timeout=1.0)
            state = _show(status.get("state"))
        except otp.CallTimeout:
            state = "(busy: no answer to get_status within 1 s)"
        except Exception as exc:
            state = f"(no state: {type(exc).__name__}: {exc})"
    out = _row(proc, info)
    out.update(
        links=[_pid_text(p) for p in _list(info.get("links"))],
        monitors=[_pid_text(p) for p in _list(info.get("monitors"))],
        trap_exit=bool(info.get("trap_exit")),
        state=state,
        node=otp.node(),
    )
    return out


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _show(value: object, limit: int = 20_000) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


async def _children(sup: Process, seen: set[int]) -> list[dict[str, object]] | str:
    which = (
        otp.DynamicSupervisor.which_children
        if sup.behaviour == "DynamicSupervisor"
        else otp.Supervisor.which_children
    )
    try:
        children = await asyncio.wait_for(which(sup), 1.0)
    except (TimeoutError, otp.CallTimeout):
        return "busy"
    except otp.Exit:
        return "gone"
    out = []
    for child in children:
        out.append(await _tree_node(child.pid, child.id, child.type, seen))
    return out


async def _tree_node(
    pid: otp.Pid | None, id_: object, kind: str, seen: set[int]
) -> dict[str, object]:
    info = otp.process_info(pid) if pid is not None else None
    node: dict[str, object] = {
        "id": None if id_ is None else str(id_),
        "pid": None if pid is None else _pid_text(pid),
        "type": kind,
        "name": info.get("registered_name") if info else None,
        "behaviour": info.get("behaviour") if info else None,
        "initial_call": info.get("initial_call") if info else None,
        "children": [],
    }
    if isinstance(pid, Process) and pid.behaviour in SUPERVISORS:
        seen.add(pid._id)
        node["children"] = await _children(pid, seen)
    return node


async def tree() -> list[dict[str, object]]:
    """The supervision trees of this node: supervisors that no supervisor supervises."""
    supervisors = [p for p in otp.processes() if getattr(p, "behaviour", None) in SUPERVISORS]
    seen: set[int] = set()
    roots: list[dict[str, object]] = []
    below: set[str] = set()
    for sup in supervisors:
        if not isinstance(sup, Process) or sup._id in seen:
            continue  # already drawn under the supervisor that started it
        info = otp.process_info(sup)
        label = info.get("registered_name") if info else None
        root = await _tree_node(sup, label or str(sup), "supervisor", seen)
        _collect_pids(root["children"], below)
        roots.append(root)
    return [r for r in roots if r["pid"] not in below]


def _collect_pids(children: object, into: set[str]) -> None:
    if isinstance(children, list):
        for child in children:
            into.add(str(child.get("pid")))
            _collect_pids(child.get("children"), into)


def tables() -> list[dict[str, object]]:
    """Every live `otp.Table` of this node: name, owner, type, access, size."""
    return table_summaries(current_node())


def registries() -> list[dict[str, object]]:
    """Every running `otp.Registry` of this node: name, pid, keys, partitions, size."""
    return registry_summaries(current_node())


def crashes(limit: int = 100) -> list[dict[str, object]]:
    """The node's recent crash reports, newest first (`node.crash_reports`, if kept)."""
    reports = list(getattr(current_node(), "crash_reports", ()))[-limit:]
    out = []
    for r in reversed(reports):
        out.append(
            {
                "time": float(getattr(r, "time", 0.0)),
                "pid": _pid_text(getattr(r, "pid", "")),
                "name": _opt_str(getattr(r, "name", None)),
                "behaviour": _opt_str(getattr(r, "behaviour", None)),
                "reason": str(getattr(r, "reason", "")),
                "report": str(getattr(r, "report", "")),
            }
        )
    return out


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def kill(text: str) -> bool:
    """Send exit signal `kill` to the process `text` of this node; False if none is alive."""
    proc = find_local(text)
    if proc is None or not proc.alive:
        return False
    otp.exit(proc, "kill")
    return True


__all__ = [
    "crashes",
    "kill",
    "overview",
    "process",
    "processes_page",
    "registries",
    "sample",
    "tables",
    "tree",
]
