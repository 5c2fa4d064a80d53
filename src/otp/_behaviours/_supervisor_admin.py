"""The requests a supervisor answers: the functions of OTP's supervisor module."""

from __future__ import annotations

from .._errors import Exit, StartError
from .._runtime._repr import show
from ._child import ChildSpec
from ._supervisor_children import Entry, SupervisorState, row, start_entry, stop_entry


async def answer(state: SupervisorState, request: tuple[object, ...]) -> object:
    op = request[0]
    if op == "which_children":
        return [row(c) for c in state.children]
    if op == "count_children":
        active = [c for c in state.children if c.pid is not None]
        return {
            "specs": len(state.children),
            "active": len(active),
            "supervisors": sum(1 for c in state.children if c.spec.type == "supervisor"),
            "workers": sum(1 for c in state.children if c.spec.type == "worker"),
        }
    arg = request[1]
    if op == "start_child":
        assert isinstance(arg, ChildSpec)
        existing = state.find(arg.id)
        if existing is not None:
            if existing.pid is not None:
                return StartError(
                    ("already_started", existing.pid), f"child {show(arg.id)} is already running"
                )
            return StartError("already_present", f"a child with id {show(arg.id)} already exists")
        child = Entry(arg)
        try:
            await start_entry(child, state)
        except StartError as exc:
            return exc
        if child.pid is not None or arg.restart != "temporary":
            state.children.append(child)
        return child.pid
    found = state.find(arg)
    if found is None:
        return KeyError(f"the supervisor has no child with id {show(arg)}")
    return await _admin_child(state, found, op)


async def _admin_child(state: SupervisorState, child: Entry, op: object) -> object:
    id_ = child.spec.id
    if op == "terminate_child":
        await stop_entry(child)
        if child.spec.restart == "temporary":
            state.children.remove(child)
        return None
    if op == "restart_child":
        if child.pid is not None:
            return StartError("running", f"child {show(id_)} is running")
        child.waiting = None  # started now: its pending delayed restart is void
        try:
            await start_entry(child, state)
        except StartError as exc:
            return exc
        return child.pid
    if op == "delete_child":
        if child.pid is not None:
            return StartError("running", f"child {show(id_)} is running: terminate it first")
        state.children.remove(child)
        return None
    return Exit(("unknown_request", op))
