"""OTP's own supervisor calls, as Erlang and Elixir nodes make them.

`supervisor:which_children(Sup)`, `count_children(Sup)` and
`terminate_child(Sup, Pid)` (Elixir's `DynamicSupervisor.which_children`,
`count_children`, `terminate_child`, and `Task.Supervisor.children` on top
of them) call a supervisor with `which_children`, `count_children` and
`{terminate_child, Pid}`. A Python DynamicSupervisor answers them in OTP's
shapes, so Elixir code can look at and stop the children of a Python
supervisor as at its own:

>>> from otp._runtime._terms import Atom
>>> erlang_op(Atom("which_children")), erlang_op((Atom("terminate_child"), 7))
(('which_children', None), ('terminate_child', 7))
>>> erlang_op("start_child") is None
True
>>> erlang_counts({"specs": 2, "active": 1, "supervisors": 0, "workers": 2})
[(Atom('specs'), 2), (Atom('active'), 1), (Atom('supervisors'), 0), (Atom('workers'), 2)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from .._runtime._terms import Atom
from ._child import Child

_UNDEFINED: Final = Atom("undefined")
_RESTARTING: Final = Atom("restarting")
#: What `terminate_child` answers when the pid is not a child.
NOT_FOUND: Final = (Atom("error"), Atom("not_found"))
OK: Final = Atom("ok")


def erlang_op(request: object) -> tuple[str, object] | None:
    """The operation an OTP supervisor call asks for, with its argument; else None."""
    if type(request) is Atom and request in ("which_children", "count_children"):
        return str(request), None
    if (
        type(request) is tuple
        and len(request) == 2
        and type(request[0]) is Atom
        and request[0] == "terminate_child"
    ):
        return "terminate_child", request[1]
    return None


def erlang_children(rows: Iterable[Child]) -> list[tuple[object, ...]]:
    """`which_children`'s answer: `[{undefined, Pid | restarting, Type, Modules}]`."""
    return [
        (_UNDEFINED, row.pid if row.pid is not None else _RESTARTING, Atom(row.type), _modules(row))
        for row in rows
    ]


def erlang_counts(counts: Mapping[str, int]) -> list[tuple[Atom, int]]:
    """`count_children`'s answer: OTP's property list (Elixir makes it a map)."""
    return [(Atom(key), counts[key]) for key in ("specs", "active", "supervisors", "workers")]


def _modules(row: Child) -> object:
    names: list[object] = []
    for module in row.modules:
        if isinstance(module, str):
            names.append(Atom(module))
        else:
            name = getattr(module, "__qualname__", None) or getattr(module, "__name__", None)
            where = getattr(module, "__module__", None)
            names.append(Atom(f"{where}.{name}" if where and name else repr(module)))
    return names


__all__ = ["NOT_FOUND", "OK", "erlang_children", "erlang_counts", "erlang_op"]
