"""Type-checked only (never run): a typed GenServer, as users should write one.

`otp.GenServer[int]` is a server whose state is an int: its callbacks take
`state: int`, plain or `async def`, and return results of that state type;
`init` takes an argument of any type, and `start_link` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Never, assert_type

import otp


class Counter(otp.GenServer[int]):
    # -- client API -------------------------------------------------------------------

    @classmethod
    async def get(cls, server: otp.Pid | str = "counter") -> int:
        value: int = await otp.call(server, "get")  # call returns Any: no cast needed
        return value

    # -- callbacks --------------------------------------------------------------------

    def init(self, start: int) -> int:
        return start

    def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
        return otp.Reply(state, state + 1)

    def handle_cast(self, request: object, state: int) -> otp.NoReply[int] | otp.Stop[int]:
        if request == "stop":
            return otp.Stop("normal", state)
        return otp.NoReply(state + 1, timeout=1.0)

    def handle_info(self, msg: object, state: int) -> otp.NoReply[int]:
        return otp.NoReply(state, continue_="check")

    def handle_continue(self, arg: object, state: int) -> otp.NoReply[int]:
        return otp.NoReply(state)

    def terminate(self, reason: object, state: int) -> None:
        print(reason, state)

    def code_change(self, old_vsn: object, state: int, extra: object) -> int:
        return state

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        return status


@dataclass
class Job:
    name: str
    tries: int = 0


class Worker(otp.GenServer[Job]):
    """Async callbacks, `Ok` from `init`, and `Stop(reason)` without a state."""

    async def init(self, name: str) -> otp.Ok[Job] | otp.Ignore | otp.Stop[Job]:
        if not name:
            return otp.Ignore()
        if name == "bad":
            return otp.Stop("bad name")  # no state: a Stop[Never] fits any state type
        return otp.Ok(Job(name), continue_="work")

    async def handle_continue(self, arg: str, state: Job) -> otp.NoReply[Job]:
        state.tries += 1
        return otp.NoReply(state)

    async def handle_call(
        self, request: str, from_: otp.From, state: Job
    ) -> otp.Reply[Job] | otp.NoReply[Job] | otp.Stop[Job]:
        match request:
            case "name":
                return otp.Reply(state.name, state)
            case "later":
                otp.reply(from_, "later")
                return otp.NoReply(state)
            case _:
                return otp.Stop("normal", state, reply="bye")

    async def terminate(self, reason: object, state: Job) -> None:
        print(reason, state)


class Flag(otp.GenServer[int]):
    """Covariant results: a `Reply[bool]` is a `Reply[int]` (a bool is an int)."""

    def init(self, arg: None) -> bool:
        return False

    def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
        flipped: otp.Reply[bool] = otp.Reply("flipped", not state)
        return flipped


class Untyped(otp.GenServer):
    """Plain `otp.GenServer` is `otp.GenServer[Any]`: anything goes, as before."""

    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> otp.Reply:
        return otp.Reply(request, state)


async def clients() -> None:
    counter = await Counter.start_link(0, name="counter")
    assert_type(counter, otp.Pid | None)
    assert counter is not None  # None only when init returned otp.Ignore()
    value: int = await otp.call(counter, "get")
    assert_type(await Counter.get(counter), int)
    otp.cast(counter, "stop")
    await Worker.start("job")
    await Flag.start_link()  # `init(self, arg: None)`: the argument may be left out
    await Untyped.start_link({"any": "thing"})
    state: int = await otp.sys.get_state(counter)
    await otp.call(otp.Global("counter"), "get")  # a global name is a destination
    await otp.call(("counter", "b@host"), "get")  # so is a name on another node
    await otp.stop(counter)
    print(value, state)
    assert_type(otp.Stop("normal"), otp.Stop[Never])
    assert_type(otp.Reply(1, "s"), otp.Reply[str])
    assert_type(otp.Ok([1]), otp.Ok[list[int]])
