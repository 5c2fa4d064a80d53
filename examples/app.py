"""The example application: a counter service with a client API."""

from __future__ import annotations

import otp


class Counter(otp.GenServer):
    """Counts, and answers with the new value."""

    @classmethod
    async def increment(cls, server: otp.Pid | str = "counter") -> object:
        return await otp.call(server, "increment")

    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> object:
        assert isinstance(state, int)
        return otp.Reply(state + 1, state + 1)


async def main() -> None:
    await Counter.start_link(0, name="counter")
    for _ in range(3):
        print("counter is now", await Counter.increment())


if __name__ == "__main__":
    otp.run(main)
