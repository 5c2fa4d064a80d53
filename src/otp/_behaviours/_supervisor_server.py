"""The GenServer that runs a supervisor (as in OTP, a supervisor is a gen_server)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .._errors import StartError
from .._runtime._messages import Exited
from .._runtime._repr import show
from .._runtime._scheduler import self_process
from ._eager import eager
from ._gen_server import GenServer
from ._results import Ignore, NoReply, Ok, Reply, Stop
from ._supervisor_admin import answer
from ._supervisor_children import (
    Entry,
    SupervisorState,
    child_exited,
    report_start_failure,
    restart,
    row,
    start_entry,
    stop_entry,
)
from ._supervisor_spec import SupervisorSpec, child_specs

if TYPE_CHECKING:
    from ._server_messages import From
    from ._supervisor import Supervisor


class _SupervisorServer(GenServer):
    """The GenServer that runs a supervisor (as in OTP, a supervisor is a gen_server)."""

    _otp_label = "Supervisor"

    _otp_shutdown = None  # at node shutdown, wait for the children's own shutdowns

    async def init(self, arg: object) -> object:
        assert type(arg) is tuple
        module: type[Supervisor] = arg[0]
        module_arg: object = arg[1]
        spec: object = arg[2]
        self_process().trap = True
        if spec is None:
            spec = module().init(module_arg)
            if inspect.isawaitable(spec):
                spec = await spec
        if type(spec) is Ignore:
            return spec  # start_link returns None, as for OTP's `ignore`
        if not isinstance(spec, SupervisorSpec):
            return Stop(("bad_return", spec))
        children = [Entry(c) for c in child_specs(spec.children)]
        state = SupervisorState(spec, children)
        for i, child in enumerate(children):
            try:
                await start_entry(child, state)
            except StartError as exc:
                report_start_failure(child, exc.reason)
                for started in reversed(children[:i]):
                    await stop_entry(started)
                return Stop(("shutdown", ("failed_to_start_child", child.spec.id, exc.reason)))
        state.children = [c for c in children if c.pid is not None or c.spec.restart != "temporary"]
        return Ok(state)

    # The callbacks below are plain functions that run the supervisor's
    # work eagerly (see `_eager`): a restart or a stop that never suspends
    # costs no Task and no loop turn.

    def handle_call(self, request: object, from_: From, state: object) -> Any:
        assert isinstance(state, SupervisorState)
        if not (type(request) is tuple and request[:1] == ("$sup",)):
            # As in OTP, a stray call crashes the supervisor (and its children go too).
            raise TypeError(
                f"a supervisor only answers the otp.Supervisor functions "
                f"(which_children, start_child, ...); got call {show(request)}"
            )
        if request[1] == "which_children":  # the frequent request, answered without a coroutine
            return Reply([row(c) for c in state.children], state)
        return eager(_reply(state, request[1:]))

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, SupervisorState)
        if type(msg) is Exited:
            child = state.by_pid(msg.pid)
            if child is None:
                return NoReply(state)  # not a child: a stale or foreign exit
            return eager(child_exited(state, child, msg.reason))
        if type(msg) is tuple and len(msg) == 3 and msg[0] == "$restart":
            child = state.find(msg[1])
            if child is not None and child.waiting is msg[2]:  # not cancelled meanwhile
                child.waiting = None
                return eager(restart(state, child))
            return NoReply(state)
        return NoReply(state)

    def terminate(self, reason: object, state: object) -> object:
        if isinstance(state, SupervisorState) and state.children:
            return eager(_stop_all(state))
        return None

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        state = status.get("state")
        if isinstance(state, SupervisorState):
            status = {**status, "state": [row(c) for c in state.children]}
        return status


async def _reply(state: SupervisorState, request: tuple[object, ...]) -> Reply:
    return Reply(await answer(state, request), state)


async def _stop_all(state: SupervisorState) -> None:
    """Stop every child, in reverse start order, each once the previous one is gone."""
    for child in reversed(state.children):
        await stop_entry(child)
