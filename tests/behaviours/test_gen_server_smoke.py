"""A first end-to-end check of the GenServer path; the full suite lives beside it."""

from __future__ import annotations

from typing import Any

import otp


class Counter(otp.GenServer):
    def init(self, start: object) -> object:
        return start

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        assert isinstance(state, int)
        return otp.Reply(state + 1, state + 1)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int) and isinstance(request, int)
        return otp.NoReply(state + request)


def test_call_and_cast_thread_state_through_callbacks() -> None:
    async def main() -> list[object]:
        pid = await Counter.start_link(0, name="counter")
        assert pid is not None
        first = await otp.call("counter", "increment")
        otp.cast(pid, 10)
        second = await otp.call(pid, "increment")
        return [first, second]

    assert otp.run(main) == [1, 12]
