"""Must not type-check: callbacks that return the wrong state type, or nothing.

Each line marked `# E: <mypy error code>` is an error in mypy and pyright; no
other line is.
"""

from __future__ import annotations

import otp


class Counter(otp.GenServer[int]):
    def init(self, start: int) -> int:
        return start

    def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
        return otp.Reply("x", "not an int")  # E: arg-type

    def handle_cast(self, request: object, state: int) -> otp.NoReply[int]:
        return otp.NoReply(str(state))  # E: arg-type

    def handle_continue(self, arg: object, state: int) -> otp.NoReply[int]:
        return  # E: return-value


class Nothing(otp.GenServer[int]):
    def handle_call(  # E: override
        self, request: object, from_: otp.From, state: int
    ) -> None:
        print(request)

    def handle_info(self, msg: object, state: int) -> otp.NoReply[str]:  # E: override
        return otp.NoReply("a str")


class WrongInit(otp.GenServer[int]):
    def init(self, arg: None) -> otp.Ok[int]:
        return otp.Ok("not an int")  # E: arg-type


class AsyncWrong(otp.GenServer[int]):
    async def handle_cast(self, request: object, state: int) -> otp.NoReply[str]:  # E: override
        return otp.NoReply("a str")


class StateParameter(otp.GenServer[int]):
    def handle_cast(self, request: object, state: str) -> otp.NoReply[int]:  # E: override
        return otp.NoReply(0)
