"""What the observer reads from a node, as plain terms: run here, or there by erpc.

Every function returns only dicts, lists, str, int, float and None (pids as
their `<0.42.0>` text), so that another otp node answers
`otp.erpc.call(node, "otp.observer._probe", "sample", [])` even with
`pickle=False`. Nothing here imports aiohttp.

Reading 100,000 processes takes a while: the loops give the event loop back
every `SLICE` processes (`await asyncio.sleep(0)`), so the node's other
processes keep running while the observer looks at them. They read only
what they need, with `otp.process_info(pid, item)`: a sample sums one
counter, and a processes page reads the sort key (and, with a filter, the
names) of every process, then the full snapshot of just the rows it shows.
That sorted listing is kept `LISTING_SECONDS` per node, sort, order and
filter, so several open tabs polling each second cost one listing.

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
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import otp

from .._behaviours._registry import registry_summaries
from .._behaviours._table import table_summaries
from .._runtime._process import Process
from .._runtime._scheduler import current_node

if TYPE_CHECKING:
    from .._runtime._node import Node

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


async def _each(pids: list[otp.Pid], read: Callable[[otp.Pid], Any]) -> list[Any]:
    """`read` of every pid, `SLICE` at a time, giving the event loop back in between."""
    out: list[Any] = []
    for start in range(0, len(pids), SLICE):
        if start:
            await asyncio.sleep(0)
        out.extend(map(read, pids[start : start + SLICE]))
    return out


#: The `process_info` item each sort key reads (`pid` and `behaviour` read otherwise).
SORT_ITEMS = {
    "name": "registered_name",
    "status": "status",
    "queue": "message_queue_len",
    "memory": "memory",
    "handled": "messages_handled",
    "current": "current_function",
}
#: What a filter looks in: a substring of any of these matches.
FILTER_FIELDS = ("pid", "name", "behaviour", "initial_call")


def _key_reader(sort: str) -> Callable[[otp.Pid], Any]:
    """The sort key of one process, read alone (0 or "" once it died)."""
    if sort == "behaviour":
        return lambda p: str(
            otp.process_info(p, "behaviour") or otp.process_info(p, "initial_call") or ""
        )
    item = SORT_ITEMS[sort]
    if sort in ("queue", "memory", "handled"):
        return lambda p: otp.process_info(p, item) or 0
    return lambda p: str(otp.process_info(p, item) or "")


def _filter_text(pid: otp.Pid) -> str:
    """What a filter is matched against: the pid, name, behaviour and initial call."""
    got = otp.process_info(pid, ["registered_name", "behaviour", "initial_call"])
    fields = got.values() if got is not None else ()
    return " ".join([str(pid), *(str(v) for v in fields if v is not None)]).lower()


async def _sorted_pids(sort: str, order: str, needle: str) -> tuple[int, list[otp.Pid]]:
    """`(live processes, pids that match needle in sort order)`, reading only what is needed."""
    pids = otp.processes()
    total = len(pids)
    if needle:
        texts = await _each(pids, _filter_text)
        pids = [p for p, text in zip(pids, texts, strict=True) if needle in text]
    if sort == "pid":  # otp.processes() lists the oldest, the lowest pid, first
        return total, pids[::-1] if order == "desc" else pids
    keys = await _each(pids, _key_reader(sort))
    ranked = sorted(range(len(pids)), key=keys.__getitem__, reverse=order == "desc")
    return total, [pids[i] for i in ranked]


def _sort_key(key: str) -> Callable[[dict[str, object]], Any]:
    """The sort key of a row (for `page_of`, which sorts rows it was given)."""
    if key == "pid":
        return lambda r: tuple(int(x) for x in str(r["pid"]).strip("<>").split("."))
    if key in ("queue", "memory", "handled"):
        return lambda r: r[key] or 0
    if key == "behaviour":
        return lambda r: str(r["behaviour"] or r["initial_call"] or "")
    return lambda r: str(r[key] or "")


def _check_page(sort: str, order: str, offset: int, limit: int) -> None:
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}; got {sort!r}")
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc'; got {order!r}")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"offset must be >= 0 and limit 1..{MAX_LIMIT}; got {offset}, {limit}")


def page_of(
    all_rows: list[dict[str, object]],
    sort: str = "queue",
    order: str = "desc",
    filter: str = "",
    offset: int = 0,
    limit: int = 50,
) -> dict[str, object]:
    """Filter (a substring of pid, name, behaviour or initial call), sort, slice.

    >>> rows = [{"pid": "<0.1.0>", "name": "a", "behaviour": None, "initial_call": "m.f",
    ...          "status": "waiting", "queue": 3, "memory": 1, "handled": 0, "current": None},
    ...         {"pid": "<0.2.0>", "name": None, "behaviour": "Cache", "initial_call": "m.C",
    ...          "status": "waiting", "queue": 9, "memory": 1, "handled": 0, "current": None}]
    >>> [r["pid"] for r in page_of(rows)["rows"]]
    ['<0.2.0>', '<0.1.0>']
    >>> page_of(rows, filter="cache")["matched"]
    1
    """
    _check_page(sort, order, offset, limit)
    matched = all_rows
    needle = filter.strip().lower()
    if needle:
        fields = FILTER_FIELDS
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
    """A page of this node's processes table: `{total, matched, offset, rows}`.

    The sorted listing comes from `_listing` (shared for `LISTING_SECONDS`);
    the rows are read now, so a process that died since is left out.
    """
    _check_page(sort, order, offset, limit)
    total, pids = await _listing(sort, order, filter.strip().lower())
    shown = []
    for pid in pids[offset : offset + limit]:
        info = otp.process_info(pid)
        if info is not None:
            shown.append(_row(pid, info))
    return {"total": total, "matched": len(pids), "offset": offset, "rows": shown}


#: Seconds a sorted listing is reused by the pages asking for the same one.
LISTING_SECONDS = 1.0
_Listing = tuple[int, list[otp.Pid]]
_listings: weakref.WeakKeyDictionary[Node, dict[tuple[str, str, str], tuple[float, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def _listing(sort: str, order: str, needle: str) -> _Listing:
    """The sorted, filtered pids of this node, made at most once per `LISTING_SECONDS`.

    Pages asking while it is being made wait for that one.
    """
    cache = _listings.setdefault(current_node(), {})
    now = time.monotonic()
    for old in [k for k, (t, _) in cache.items() if now - t >= LISTING_SECONDS]:
        del cache[old]
    key = (sort, order, needle)
    if key in cache:
        made: asyncio.Future[_Listing] = cache[key][1]
        return await asyncio.shield(made)
    made = asyncio.get_running_loop().create_future()
    cache[key] = (now, made)
    try:
        listing = await _sorted_pids(sort, order, needle)
    except BaseException as exc:
        if cache.get(key, (0.0, None))[1] is made:
            del cache[key]
        made.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
        made.exception()  # retrieved: only the pages waiting on it see it
        raise
    made.set_result(listing)
    return listing


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
    """This node's counters now: processes, messages handled so far, memory.

    `handled` sums `messages_handled` over the live processes, read alone
    (`otp.process_info(pid, "messages_handled")`): a process that died takes
    its count with it (the sampler clamps the rate at 0).
    """
    pids = otp.processes()
    handled = 0
    for start in range(0, len(pids), SLICE):
        if start:
            await asyncio.sleep(0)
        for pid in pids[start : start + SLICE]:
            count = otp.process_info(pid, "messages_handled")
            if type(count) is int:  # None: it died since `otp.processes()`
                handled += count
    return {
        "time": time.time(),
        "processes": len(pids),
        "handled": handled,
        "memory": _memory_rss(),
    }


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
        "id": _id_text(id_),
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


def _id_text(id_: object) -> str | None:
    """A child id as text: a class by its name (`Audit`), as Erlang shows the id term.

    >>> class Audit: pass
    >>> _id_text(Audit), _id_text("cache"), _id_text(None)
    ('Audit', 'cache', None)
    """
    if id_ is None:
        return None
    return id_.__name__ if isinstance(id_, type) else str(id_)


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
