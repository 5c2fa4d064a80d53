"""Type-checked only (never run): `otp.Agent[T]` and `otp.Task[T]` carry their value's type."""

from __future__ import annotations

from typing import Any, assert_type

import otp


async def agents() -> None:
    agent = await otp.Agent.start_link(lambda: 0)
    assert_type(agent, otp.Agent[int])
    assert isinstance(agent, otp.Pid)  # an agent is a pid: every pid function takes it
    assert_type(await otp.Agent.get(agent, lambda n: n * 2), int)
    assert_type(await otp.Agent.get(agent, str), str)
    await otp.Agent.update(agent, lambda n: n + 1)
    assert_type(await otp.Agent.get_and_update(agent, lambda n: (str(n), n + 1)), str)
    otp.Agent.cast(agent, lambda n: n - 1)
    await otp.Agent.stop(agent)

    async def load() -> dict[str, int]:
        return {"a": 1}

    async def total(d: dict[str, int]) -> int:
        return sum(d.values())

    loaded = await otp.Agent.start(load)  # an async function: its result is the value
    assert_type(loaded, otp.Agent[dict[str, int]])
    assert_type(await otp.Agent.get(loaded, total), int)  # so is an async function's
    names: otp.Agent[list[str]] = await otp.Agent.start_link(list, name="names")
    await otp.Agent.update(names, lambda items: [*items, "x"])
    # A name carries no type: the functions take Any (get gives what they return).
    assert_type(await otp.Agent.get("names", len), int)
    assert_type(await otp.Agent.get("names", lambda items: items), Any)
    otp.Agent.cast(("names", "b@host"), lambda items: items)
    spec = otp.Agent.child_spec(lambda: 0, name="counter")
    assert_type(spec, otp.ChildSpec)


async def tasks() -> None:
    task = otp.Task.async_(lambda: 1)
    assert_type(task, otp.Task[int])
    assert_type(await otp.Task.await_(task), int)
    assert_type(await task, int)

    async def fetch(url: str) -> bytes:
        return url.encode()

    fetching = otp.Task.async_(fetch, "http://example.com")
    assert_type(fetching, otp.Task[bytes])
    assert_type(await otp.Task.await_(fetching, timeout=1.0), bytes)
