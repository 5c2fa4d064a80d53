"""`otp.testing.assert_receive` and `refute_receive`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from unittest.mock import ANY

import pytest

import otp
from otp.testing import VirtualClock, assert_receive, refute_receive


class TestAssertReceive:
    def test_takes_the_oldest_equal_message_and_leaves_the_others_in_order(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, list[object]]:
            for msg in ["a", "b", "a", "c"]:
                otp.send(otp.self(), msg)
            got = await assert_receive("a")
            rest = [await otp.receive(timeout=0) for _ in range(3)]
            return got, rest

        assert clock.run(main) == ("a", ["b", "a", "c"])

    def test_a_type_matches_its_instances_and_a_union_either(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            otp.send(otp.self(), "text")
            otp.send(otp.self(), 7)
            otp.send(otp.self(), 2.5)
            return await assert_receive(int), await assert_receive(float | bytes)

        assert clock.run(main) == (7, 2.5)

    def test_a_callable_is_a_predicate(self, clock: VirtualClock) -> None:
        async def main() -> object:
            otp.send(otp.self(), 1)
            otp.send(otp.self(), 12)
            return await assert_receive(lambda msg: isinstance(msg, int) and msg > 10)

        assert clock.run(main) == 12

    def test_any_matches_an_element_or_the_whole_message(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            otp.send(otp.self(), ("reply", 1, "x"))
            otp.send(otp.self(), "whatever")
            return await assert_receive(("reply", ANY, "x")), await assert_receive(ANY)

        assert clock.run(main) == (("reply", 1, "x"), "whatever")

    def test_a_message_arriving_within_the_timeout_is_taken_at_its_arrival(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "late", 30)
            return await assert_receive("late", timeout=60), clock.time()

        assert clock.run(main) == ("late", 30.0)

    def test_failure_after_the_timeout_says_the_mailbox_is_empty(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, float]:
            with pytest.raises(AssertionError) as info:
                await assert_receive("never")
            return str(info.value), clock.time()

        text, when = clock.run(main)
        assert text == (
            "Assertion failed, no matching message after 0.1 s.\n"
            "Expected a message matching 'never'.\n"
            "The process mailbox is empty."
        )
        assert when == 0.1

    def test_failure_shows_the_first_ten_of_the_messages_queued(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, int]:
            for i in range(12):
                otp.send(otp.self(), ("other", i))
            with pytest.raises(AssertionError) as info:
                await assert_receive(otp.Down, timeout=0)
            return str(info.value), len([m async for m in _drain()])

        text, left = clock.run(main)
        assert text.startswith(
            "Assertion failed, no matching message after 0 s.\n"
            "Expected a message matching an instance of Down.\n"
            "Showing 10 of 12 messages in the mailbox, oldest first:\n"
            "  ('other', 0)\n"
        )
        assert "('other', 9)" in text and "('other', 10)" not in text
        assert left == 12  # nothing was taken

    def test_failure_names_a_predicate_by_its_name(self, clock: VirtualClock) -> None:
        def is_pong(msg: object) -> bool:
            return msg == "pong"

        async def main() -> str:
            with pytest.raises(AssertionError) as info:
                await assert_receive(is_pong, timeout=0)
            return str(info.value)

        assert re.search(r"matching \S*is_pong\(msg\)\.", clock.run(main))

    def test_outside_a_process_raises_not_in_process(self) -> None:
        coro = assert_receive("x")
        with pytest.raises(otp.NotInProcess):
            coro.send(None)
        coro.close()


async def _drain() -> AsyncIterator[object]:
    """What is queued now, oldest first."""
    while True:
        try:
            yield await otp.receive(timeout=0)
        except TimeoutError:
            return


class TestRefuteReceive:
    def test_passes_when_nothing_matching_arrives_and_waits_the_timeout(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[float, object]:
            otp.send(otp.self(), "other")
            await refute_receive("wanted", timeout=5)
            return clock.time(), await otp.receive(timeout=0)

        assert clock.run(main) == (5.0, "other")

    def test_fails_on_a_matching_message_and_takes_it(self, clock: VirtualClock) -> None:
        async def main() -> tuple[str, list[object]]:
            otp.send(otp.self(), "keep")
            otp.send_after(otp.self(), ("bad", 1), 2)
            with pytest.raises(AssertionError) as info:
                await refute_receive(("bad", ANY), timeout=5)
            assert clock.time() == 2.0
            return str(info.value), [m async for m in _drain()]

        text, left = clock.run(main)
        assert text == (
            "Refute failed: received a message matching ('bad', <ANY>) within 5 s:\n  ('bad', 1)"
        )
        assert left == ["keep"]

    def test_a_timeout_of_none_is_refused(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(ValueError) as info:
                await refute_receive("x", timeout=None)
            return str(info.value)

        assert "refute_receive needs a finite timeout" in clock.run(main)
