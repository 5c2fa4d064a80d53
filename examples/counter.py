"""A counter service: a GenServer with a client API, under a registered name.

    python examples/counter.py

The class holds both halves, as an Elixir module does: the client API
(classmethods that run in the caller and talk to the server with
`otp.call` / `otp.cast`) and the server callbacks (which run in the server
process, one message at a time, and thread the state through their return
values). Callers never touch the state; they only send messages.
"""

from __future__ import annotations

import otp


class Counter(otp.GenServer[int]):
    """Counts; registered as "counter" so callers need no pid."""

    # -- client API: runs in the caller ------------------------------------------

    @classmethod
    def increment(cls, by: int = 1, server: str = "counter") -> None:
        """Add `by`, without waiting: a cast never blocks and never fails."""
        otp.cast(server, ("increment", by))

    @classmethod
    async def get(cls, server: str = "counter") -> int:
        """The current count; waits for the server's reply (5 s at most)."""
        count: int = await otp.call(server, "get")
        return count

    @classmethod
    async def reset(cls, server: str = "counter") -> int:
        """Set the count back to 0; returns the count it had."""
        previous: int = await otp.call(server, "reset")
        return previous

    # -- server callbacks: run in the server process -------------------------------

    def init(self, start: int) -> int:
        return start  # a plain value is the initial state

    def handle_cast(self, request: object, state: int) -> otp.NoReply[int]:
        match request:
            case ("increment", int(by)):
                return otp.NoReply(state + by)
        raise ValueError(f"Counter got an unknown cast: {request!r}")  # crashes, naming it

    def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
        match request:
            case "get":
                return otp.Reply(state, state)  # reply with the count, keep it
            case "reset":
                return otp.Reply(state, 0)  # reply with the old count, keep 0
        raise ValueError(f"Counter got an unknown call: {request!r}")


async def main() -> list[int]:
    await Counter.start_link(0, name="counter")
    Counter.increment()
    Counter.increment(by=41)
    # A call queues behind the casts sent before it by the same process,
    # so it sees both increments.
    count = await Counter.get()
    print("count:", count)
    previous = await Counter.reset()
    print("reset, it was:", previous)
    after = await Counter.get()
    print("count after reset:", after)
    return [count, previous, after]


if __name__ == "__main__":
    otp.run(main)
