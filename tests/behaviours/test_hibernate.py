"""`hibernate=True` in a callback's result: what a hibernating server gives back."""

from __future__ import annotations

import sys
import weakref
from typing import Any

import otp
from otp._behaviours._server_process import ServerProcess
from otp.testing import VirtualClock, wait_idle


class Message:
    """A message whose life a weakref can watch."""


class Sleepy(otp.GenServer[Any]):
    """Hibernates after each message when its state says so."""

    def init(self, arg: Any) -> Any:
        return arg

    def handle_cast(self, request: object, state: Any) -> otp.NoReply[Any]:
        return otp.NoReply(state, hibernate=bool(state))

    async def handle_info(self, msg: object, state: Any) -> otp.NoReply[Any]:
        return otp.NoReply(state, hibernate=bool(state))

    def handle_call(self, request: object, from_: otp.From, state: Any) -> otp.Reply[Any]:
        if request == "nap":
            return otp.Reply("napping", state, hibernate=True, timeout=2.0)
        return otp.Reply(request, state, hibernate=bool(state))


def watched_send(send: object, pid: otp.Pid | None) -> weakref.ref[Message]:
    msg = Message()
    assert callable(send) and pid is not None
    send(pid, msg)
    return weakref.ref(msg)


class TestWhatIsReleased:
    def test_the_last_message_is_freed_after_a_hibernating_cast(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool]:
            awake = await Sleepy.start_link(False)
            asleep = await Sleepy.start_link(True)
            kept = watched_send(otp.cast, awake)
            freed = watched_send(otp.cast, asleep)
            await wait_idle()
            # Without hibernate the server keeps it for a crash report.
            return kept() is not None, freed() is None

        assert clock.run(main) == (True, True)

    def test_an_async_callback_hibernates_too(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            asleep = await Sleepy.start_link(True)
            freed = watched_send(otp.send, asleep)
            await wait_idle()
            return freed() is None

        assert clock.run(main) is True

    def test_an_empty_mailbox_and_emptied_links_are_dropped(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, bool, int, int]:
            pid = await Sleepy.start_link(True)
            assert pid is not None
            assert isinstance(pid, ServerProcess)
            others = [otp.spawn(otp.receive) for _ in range(200)]
            assert pid.links is not None  # it is linked to us
            for other in others[:-1]:
                pid.links.add(other)  # as links to them would
            grown = sys.getsizeof(pid.links)
            for other in others[:-2]:
                pid.links.discard(other)
            otp.cast(pid, "sleep")
            await wait_idle()
            assert pid.links is not None
            return (
                pid.mailbox is None,
                pid.links == {otp.self(), others[-2]},
                grown,
                sys.getsizeof(pid.links),
            )

        mailbox_gone, kept, grown, shrunk = clock.run(main)
        assert mailbox_gone and kept and shrunk < grown


class TestAHibernatedServer:
    def test_replies_and_goes_on_handling_messages(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            pid = await Sleepy.start_link(True)
            assert pid is not None
            first = await otp.call(pid, "a")
            otp.cast(pid, "b")
            return [first, await otp.call(pid, "c")]

        assert clock.run(main) == ["a", "c"]

    def test_a_timeout_given_with_hibernate_still_fires(self, clock: VirtualClock) -> None:
        class Napper(Sleepy):
            async def handle_info(self, msg: object, state: Any) -> otp.NoReply[Any]:
                assert isinstance(state, otp.Pid)
                otp.send(state, (msg, clock.time()))
                return otp.NoReply(state)

        async def main() -> object:
            pid = await Napper.start_link(otp.self())
            assert pid is not None
            assert await otp.call(pid, "nap") == "napping"
            return await otp.receive()

        assert clock.run(main) == ("timeout", 2.0)
