"""Slow work kept out of a server's way: `handle_call` hands it to a supervised task.

The seed's advice for slow requests: the server does not do the work in
its callback (that would hold every other caller). It starts a task under
a `TaskSupervisor` with `async_nolink`, returns `otp.NoReply(state)`, and
the task answers the caller itself with `otp.reply(from_, value)`. The
server stays free: a cheap request is answered while the slow ones run,
and a crashing task cannot take the server down (it is not linked); the
server sees the task's `Down` and answers that caller with an error.

Run it with `python examples/slow_server.py`.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

import otp


async def render(from_: otp.From, report: str, seconds: float) -> None:
    """The slow work, in its own process; it answers the caller directly."""
    await asyncio.sleep(seconds)
    if report == "broken":
        raise ValueError(f"cannot render {report!r}")
    otp.reply(from_, ("ok", f"{report} rendered in {seconds:g} s"))


class State(TypedDict):
    rendering: dict[otp.Ref, otp.From]  # the caller of each task (by its monitor)
    done: int
    failed: int


class Reports(otp.GenServer[State]):
    """Renders reports without ever blocking on one."""

    @classmethod
    async def render(cls, report: str, seconds: float = 1.0) -> object:
        return await otp.call("reports", ("render", report, seconds), timeout=10.0)

    @classmethod
    async def status(cls) -> object:
        return await otp.call("reports", "status")

    def init(self, _: None) -> State:
        return {"rendering": {}, "done": 0, "failed": 0}

    async def handle_call(
        self, request: object, from_: otp.From, state: State
    ) -> otp.Reply[State] | otp.NoReply[State]:
        match request:
            case ("render", str(report), float(seconds)):
                task = await otp.TaskSupervisor.async_nolink(
                    "report_tasks", render, from_, report, seconds
                )
                rendering = {**state["rendering"], task.ref: from_}
                return otp.NoReply({**state, "rendering": rendering})
            case "status":
                return otp.Reply({**state, "rendering": len(state["rendering"])}, state)
        return otp.Reply(("error", f"unknown request {request!r}"), state)

    def handle_info(self, msg: object, state: State) -> otp.NoReply[State]:
        match msg:
            case otp.Down(ref=ref, reason=reason) if ref in state["rendering"]:
                rendering = dict(state["rendering"])
                from_ = rendering.pop(ref)
                if reason == "normal":
                    return otp.NoReply({**state, "rendering": rendering, "done": state["done"] + 1})
                otp.reply(from_, ("error", f"rendering failed: {reason!r}"))
                failed = state["failed"] + 1
                return otp.NoReply({**state, "rendering": rendering, "failed": failed})
            case (otp.Ref(), None):
                return otp.NoReply(state)  # a task's own result: it already replied
        return otp.NoReply(state)  # not ours: dropped


async def main() -> list[object]:
    await otp.Supervisor.start_link(
        [
            otp.TaskSupervisor.child_spec(name="report_tasks"),
            Reports.child_spec(None, name="reports"),
        ]
    )
    jobs = [otp.Task.async_(Reports.render, name) for name in ("sales", "broken", "stock")]
    await asyncio.sleep(0.5)  # the renders are under way; the server still answers at once
    print("status while rendering:", await Reports.status())
    results = [await job for job in jobs]
    for line in results:
        print(line)
    print("status afterwards:", await Reports.status())
    return results


if __name__ == "__main__":
    otp.run(main)
