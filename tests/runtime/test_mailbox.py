"""`otp.send` and `otp.receive`: mailboxes, selective receive, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otp
from otp.testing import VirtualClock, wait_idle

# Messages are small ints, so predicates over them are easy to generate.
messages = st.lists(st.integers(min_value=0, max_value=9), max_size=30)
predicates: st.SearchStrategy[Callable[[object], bool]] = st.sampled_from(
    [
        lambda m: m == 3,
        lambda m: isinstance(m, int) and m % 2 == 0,
        lambda m: isinstance(m, int) and m > 5,
        lambda m: False,
        lambda m: True,
    ]
)


def queue_len(pid: otp.Pid) -> int:
    info = otp.process_info(pid)
    assert info is not None
    queued = info["message_queue_len"]
    assert isinstance(queued, int)
    return queued


class TestSend:
    def test_a_message_sent_to_self_is_received(self) -> None:
        async def main() -> object:
            otp.send(otp.self(), "hello")
            return await otp.receive()

        assert otp.run(main) == "hello"

    def test_a_message_to_a_dead_pid_is_dropped_silently(self) -> None:
        async def child() -> None:
            pass

        async def main() -> None:
            pid, ref = otp.spawn_monitor(child)
            assert await otp.receive() == otp.Down(ref, pid, "normal")
            otp.send(pid, "into the void")

        otp.run(main)

    def test_a_message_to_a_registered_name_reaches_its_process(self) -> None:
        async def echo() -> None:
            match await otp.receive():
                case (otp.Pid() as sender, msg):
                    otp.send(sender, ("echo", msg))

        async def main() -> object:
            otp.register("echo", otp.spawn(echo))
            otp.send("echo", (otp.self(), "hi"))
            return await otp.receive()

        assert otp.run(main) == ("echo", "hi")

    def test_a_message_to_an_unregistered_name_raises_noproc(self) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc, match="'nobody'") as info:
                otp.send("nobody", "hello")
            assert info.value.reason == "noproc"

        otp.run(main)

    def test_a_local_name_node_pair_is_a_registered_name(self) -> None:
        async def main() -> object:
            otp.register("me", otp.self())
            otp.send(("me", otp.node()), "local")
            return await otp.receive()

        assert otp.run(main) == "local"

    def test_a_destination_that_cannot_name_a_process_raises_type_error(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="got 42"):
                otp.send(42, "x")

        otp.run(main)

    def test_a_plain_task_can_send_to_a_process(self) -> None:
        async def main() -> object:
            me = otp.self()

            async def plain() -> None:
                otp.send(me, "from a task")

            await asyncio.create_task(plain())
            return await otp.receive()

        assert otp.run(main) == "from a task"

    def test_messages_from_one_sender_arrive_in_order(self) -> None:
        async def sender(dest: otp.Pid, tag: str) -> None:
            for i in range(50):
                otp.send(dest, (tag, i))
                if i % 7 == 0:
                    await asyncio.sleep(0)

        async def main() -> dict[str, list[int]]:
            for tag in "abc":
                otp.spawn(sender, otp.self(), tag)
            got: dict[str, list[int]] = {"a": [], "b": [], "c": []}
            for _ in range(150):
                match await otp.receive():
                    case (str(tag), int(i)):
                        got[tag].append(i)
            return got

        assert otp.run(main) == {tag: list(range(50)) for tag in "abc"}


class TestReceive:
    def test_returns_the_oldest_message_first(self) -> None:
        async def main() -> list[object]:
            for i in range(3):
                otp.send(otp.self(), i)
            return [await otp.receive() for _ in range(3)]

        assert otp.run(main) == [0, 1, 2]

    def test_waits_for_a_message_that_arrives_later(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "late", 3)
            return await otp.receive(), clock.time()

        assert clock.run(main) == ("late", 3.0)

    def test_times_out_at_exactly_the_timeout(self, clock: VirtualClock) -> None:
        async def main() -> float:
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=5)
            return clock.time()

        assert clock.run(main) == 5.0

    def test_a_zero_timeout_only_looks(self, clock: VirtualClock) -> None:
        async def main() -> object:
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)
            otp.send(otp.self(), "here")
            return await otp.receive(timeout=0)

        assert clock.run(main) == "here"
        assert clock.time() == 0.0

    def test_non_matching_messages_do_not_restart_the_timeout(self, clock: VirtualClock) -> None:
        async def main() -> tuple[float, object]:
            for t in (1, 2, 3, 4):
                otp.send_after(otp.self(), "noise", t)
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=4.5, match=lambda m: m == "signal")
            return clock.time(), queue_len(otp.self())

        assert clock.run(main) == (4.5, 4)

    def test_a_message_that_arrives_before_the_timeout_wins(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "in time", 4.999)
            return await otp.receive(timeout=5), clock.time()

        assert clock.run(main) == ("in time", 4.999)

    def test_selective_receive_skips_and_keeps_non_matching_messages(self) -> None:
        async def main() -> list[object]:
            for m in ["a", ("b", 1), "c", ("d", 2)]:
                otp.send(otp.self(), m)
            first = await otp.receive(match=lambda m: isinstance(m, tuple))
            rest = [await otp.receive() for _ in range(3)]
            return [first, *rest]

        assert otp.run(main) == [("b", 1), "a", "c", ("d", 2)]

    def test_selective_receive_waits_for_a_later_matching_message(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, float, list[object]]:
            otp.send(otp.self(), "early")
            otp.send_after(otp.self(), "noise", 1)
            otp.send_after(otp.self(), ("wanted",), 2)
            got = await otp.receive(match=lambda m: isinstance(m, tuple))
            now = clock.time()
            return got, now, [await otp.receive(timeout=0) for _ in range(2)]

        assert clock.run(main) == (("wanted",), 2.0, ["early", "noise"])

    def test_a_cancelled_receive_leaves_every_message_queued(self) -> None:
        async def main() -> list[object]:
            me = otp.self()
            otp.send(me, "x")
            otp.send(me, "y")
            task = asyncio.ensure_future(otp.receive(match=lambda m: m == "z"))
            await wait_idle()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return [await otp.receive(timeout=0) for _ in range(2)]

        assert otp.run(main) == ["x", "y"]

    def test_receive_outside_a_process_raises_not_in_process(self) -> None:
        async def main() -> None:
            async with otp.Node():
                with pytest.raises(otp.NotInProcess):
                    await otp.receive(timeout=0)

        asyncio.run(main())

    @settings(max_examples=60, deadline=None)
    @given(msgs=messages, match=predicates)
    def test_selective_receive_returns_the_first_match_and_keeps_the_rest_in_order(
        self, msgs: list[int], match: Callable[[object], bool]
    ) -> None:
        async def main() -> tuple[object, list[object]]:
            for m in msgs:
                otp.send(otp.self(), m)
            try:
                got: object = await otp.receive(timeout=0, match=match)
            except TimeoutError:
                got = "timeout"
            return got, [await otp.receive() for _ in range(queue_len(otp.self()))]

        matching = [i for i, m in enumerate(msgs) if match(m)]
        if matching:
            first = matching[0]
            expected: tuple[object, list[object]] = (
                msgs[first],
                [*msgs[:first], *msgs[first + 1 :]],
            )
        else:
            expected = ("timeout", list(msgs))
        assert otp.run(main) == expected

    @settings(max_examples=40, deadline=None)
    @given(
        batches=st.lists(st.lists(st.integers(0, 9), max_size=10), min_size=1, max_size=4),
        match=predicates,
    )
    def test_repeated_selective_receives_drain_matches_in_arrival_order(
        self, batches: list[list[int]], match: Callable[[object], bool]
    ) -> None:
        # Messages arrive in batches between receives, so each receive scans
        # a mailbox that grew while it waited.
        async def main() -> tuple[list[object], list[object]]:
            me = otp.self()
            for i, batch in enumerate(batches):
                for m in batch:
                    otp.send_after(me, m, float(i))
            taken: list[object] = []
            while True:
                try:
                    taken.append(await otp.receive(timeout=len(batches) + 1, match=match))
                except TimeoutError:
                    break
            left = [await otp.receive(timeout=0) for _ in range(queue_len(me))]
            return taken, left

        flat = [m for batch in batches for m in batch]
        clock = VirtualClock()
        assert clock.run(main) == ([m for m in flat if match(m)], [m for m in flat if not match(m)])
