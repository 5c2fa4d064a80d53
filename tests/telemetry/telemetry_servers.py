"""The servers the telemetry tests time: an echo, a slow one and one that crashes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otp


class Echo(otp.GenServer):
    """Answers each call with its request; the request "boom" raises instead."""

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if request == "boom":
            raise ValueError("boom")
        return otp.Reply(request, state)

    def handle_cast(self, request: object, state: object) -> Any:
        if request == "boom":
            raise KeyError("boom")
        return otp.NoReply(state)


class Slow(otp.GenServer):
    """Takes `request` seconds (on the test's virtual clock) for each call and cast."""

    async def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(request, float)
        await asyncio.sleep(request)
        return otp.Reply("done", state)

    async def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(request, float)
        await asyncio.sleep(request)
        return otp.NoReply(state)


class Crashy(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        raise RuntimeError("crash")


async def crash_a_supervised_server() -> None:
    """Start a Crashy under Supervisor "sup", crash it with a call, wait for its restart."""
    sup = await otp.Supervisor.start_link(
        [otp.ChildSpec(id="worker", start=lambda: Crashy.start_link(None))], name="sup"
    )
    [child] = await otp.Supervisor.which_children(sup)
    assert child.pid is not None
    with pytest.raises(otp.Exit):
        await otp.call(child.pid, "x")
    await otp.sys.get_state(sup)  # the supervisor has handled the exit: restarted
