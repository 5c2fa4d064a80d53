"""Each server runs its callbacks in its own `contextvars` context.

A server starts with a copy of its starter's context, as an asyncio Task
does; what a callback sets, the server's later callbacks see, and no other
process does: not the caller of `start`, not a caller served inside its own
step, not a sender whose message starts a batch.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import otp
from otp.testing import VirtualClock, wait_idle

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Remembers(otp.GenServer):
    """Sets `request_id` in init, and on ("set", v); answers what it sees."""

    def init(self, arg: object) -> object:
        request_id.set("from init")
        return None

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        match request:
            case ("set", str(value)):
                request_id.set(value)
                return otp.Reply("ok", state)
            case "get":
                return otp.Reply(request_id.get(), state)
        return otp.Reply(("unknown", request), state)

    def handle_cast(self, request: object, state: object) -> Any:
        if isinstance(request, str):
            request_id.set(request)
        return otp.NoReply(state)


class AsyncRemembers(Remembers):
    async def init(self, arg: object) -> object:
        await asyncio.sleep(0)
        request_id.set("from async init")
        return None

    async def handle_cast(self, request: object, state: object) -> Any:
        await asyncio.sleep(0)
        if isinstance(request, str):
            request_id.set(request)
        return otp.NoReply(state)


class TestStart:
    def test_a_sync_init_does_not_change_the_starters_context(self, clock: VirtualClock) -> None:
        async def main() -> str:
            request_id.set("main")
            await Remembers.start_link(None)
            return request_id.get()

        assert clock.run(main) == "main"

    def test_what_a_sync_init_sets_the_later_callbacks_see(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Remembers.start_link(None)
            assert pid is not None
            return await otp.call(pid, "get")

        assert clock.run(main) == "from init"

    def test_what_an_async_init_sets_the_later_callbacks_see(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, str]:
            request_id.set("main")
            pid = await AsyncRemembers.start_link(None)
            assert pid is not None
            return await otp.call(pid, "get"), request_id.get()

        assert clock.run(main) == ("from async init", "main")

    def test_a_server_starts_with_a_copy_of_its_starters_context(self, clock: VirtualClock) -> None:
        class Plain(Remembers):
            def init(self, arg: object) -> object:
                return None

        async def main() -> object:
            request_id.set("inherited")
            pid = await Plain.start_link(None)
            assert pid is not None
            request_id.set("changed later")
            return await otp.call(pid, "get")

        assert clock.run(main) == "inherited"


class TestServersStartedTogether:
    def test_servers_started_from_one_context_never_see_each_others_values(
        self, clock: VirtualClock
    ) -> None:
        class Plain(Remembers):
            def init(self, arg: object) -> object:
                return None  # sets nothing: the servers share a snapshot until they run

        async def main() -> list[object]:
            request_id.set("starter")
            first, second = await Plain.start_link(None), await Plain.start_link(None)
            assert first is not None and second is not None
            request_id.set("changed after the start")
            await otp.call(first, ("set", "first's"))
            return [await otp.call(first, "get"), await otp.call(second, "get")]

        assert clock.run(main) == ["first's", "starter"]


class TestCall:
    def test_a_call_served_in_the_callers_step_leaves_the_callers_context(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[str, object]:
            pid = await Remembers.start_link(None)
            assert pid is not None
            request_id.set("caller")
            await otp.call(pid, ("set", "server"))
            return request_id.get(), await otp.call(pid, "get")

        assert clock.run(main) == ("caller", "server")

    def test_a_queued_call_runs_in_the_servers_context_not_the_callers(
        self, clock: VirtualClock
    ) -> None:
        async def caller(pid: otp.Pid, value: str, parent: otp.Pid) -> None:
            request_id.set(value)
            await otp.call(pid, ("set", value))
            otp.send(parent, (value, request_id.get()))

        async def main() -> tuple[object, ...]:
            pid = await Remembers.start_link(None)
            assert pid is not None
            for value in ["a", "b", "c"]:
                otp.spawn(caller, pid, value, otp.self())
            replies = sorted([await otp.receive() for _ in range(3)])  # type: ignore[type-var]
            return (*replies, await otp.call(pid, "get"))

        result = clock.run(main)
        assert result[:3] == (("a", "a"), ("b", "b"), ("c", "c"))
        assert result[3] in {"a", "b", "c"}


class TestCast:
    def test_a_cast_runs_in_the_servers_context_not_the_senders(self, clock: VirtualClock) -> None:
        async def sender(pid: otp.Pid) -> None:
            request_id.set("sender")
            otp.cast(pid, 42)  # not a str: the server sets nothing

        async def main() -> object:
            pid = await Remembers.start_link(None)
            assert pid is not None
            otp.spawn(sender, pid)
            await wait_idle()
            return await otp.call(pid, "get")

        assert clock.run(main) == "from init"

    def test_what_an_async_callback_sets_the_later_sync_callbacks_see(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, str]:
            request_id.set("main")
            pid = await AsyncRemembers.start_link(None)
            assert pid is not None
            otp.cast(pid, "set by an async cast")
            return await otp.call(pid, "get"), request_id.get()

        assert clock.run(main) == ("set by an async cast", "main")


class TestCurrentTask:
    def test_a_queued_sync_callback_sees_a_current_task(self, clock: VirtualClock) -> None:
        class Tasky(otp.GenServer):
            def handle_cast(self, request: object, state: object) -> Any:
                assert isinstance(request, otp.Pid)
                otp.send(request, asyncio.current_task() is not None)
                return otp.NoReply(state)

        async def main() -> object:
            pid = await Tasky.start_link(None)
            assert pid is not None
            otp.cast(pid, otp.self())
            return await otp.receive()

        assert clock.run(main) is True
