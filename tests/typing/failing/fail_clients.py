"""Must not type-check: a wrong `start_link` argument, None as a destination, typed agents.

Each line marked `# E: <mypy error code>` is an error in mypy and pyright; no
other line is.
"""

from __future__ import annotations

import otp


class Counter(otp.GenServer[int]):
    def init(self, start: int) -> int:
        return start


async def starts() -> None:
    await Counter.start_link("not an int")  # E: arg-type
    await Counter.start("not an int")  # E: arg-type
    await Counter.start_link()  # E: call-arg


async def destinations() -> None:
    await otp.call(None, "get")  # E: arg-type
    otp.cast(None, "get")  # E: arg-type
    pid = await Counter.start_link(0)
    await otp.call(pid, "get")  # E: arg-type


def upper(text: str) -> str:
    return text.upper()


async def agents() -> None:
    agent = await otp.Agent.start_link(lambda: 0)
    await otp.Agent.get(agent, upper)  # E: arg-type
    await otp.Agent.update(agent, upper)  # E: arg-type
    otp.Agent.cast(agent, upper)  # E: arg-type
    text: str = await otp.Agent.get(agent, lambda n: n + 1)  # E: arg-type, return-value
    print(text)
    await otp.Agent.get_and_update(agent, lambda n: (n, str(n)))  # E: arg-type, return-value


async def tasks() -> None:
    task = otp.Task.async_(lambda: 1)
    text: str = await otp.Task.await_(task)  # E: arg-type
    print(text)
