"""`otp.testing.VirtualClock` and `wait_idle`."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


class TestVirtualTime:
    def test_time_starts_at_zero(self, clock: VirtualClock) -> None:
        assert clock.time() == 0.0

    def test_a_receive_timeout_ends_at_exactly_its_deadline_without_real_waiting(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> float:
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=5)
            return clock.time()

        started = time.monotonic()
        assert clock.run(main) == 5.0
        # A real 5 s wait would take 5 s; the bound is generous on purpose.
        assert time.monotonic() - started < 4.0

    def test_the_loop_time_is_the_virtual_time(self, clock: VirtualClock) -> None:
        async def main() -> tuple[float, float]:
            loop = asyncio.get_running_loop()
            before = loop.time()
            await asyncio.sleep(3600)
            return before, loop.time()

        assert clock.run(main) == (0.0, 3600.0)
        assert clock.time() == 3600.0

    def test_asyncio_timeouts_use_the_virtual_time(self, clock: VirtualClock) -> None:
        async def main() -> float:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(2.5):
                    await asyncio.Event().wait()
            return clock.time()

        assert clock.run(main) == 2.5

    def test_time_does_not_move_while_work_is_ready(self, clock: VirtualClock) -> None:
        async def main() -> float:
            for _ in range(100):
                await asyncio.sleep(0)
            return clock.time()

        assert clock.run(main) == 0.0

    def test_a_cancelled_timer_does_not_move_time(self, clock: VirtualClock) -> None:
        async def main() -> float:
            ref = otp.send_after(otp.self(), "never", 100)
            otp.send_after(otp.self(), "soon", 1)
            assert otp.cancel_timer(ref) == 100.0
            assert await otp.receive() == "soon"
            await wait_idle()
            return clock.time()

        assert clock.run(main) == 1.0

    def test_the_clock_carries_on_across_runs(self, clock: VirtualClock) -> None:
        async def main() -> float:
            await asyncio.sleep(1)
            return clock.time()

        assert clock.run(main) == 1.0
        assert clock.run(main) == 2.0


class TestSendAfter:
    def test_timers_fire_in_deadline_order_not_start_order(self, clock: VirtualClock) -> None:
        async def main() -> list[tuple[object, float]]:
            me = otp.self()
            for delay in (3.0, 1.0, 2.0, 0.5):
                otp.send_after(me, delay, delay)
            return [(await otp.receive(), clock.time()) for _ in range(4)]

        assert clock.run(main) == [(0.5, 0.5), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]

    def test_timers_with_the_same_deadline_fire_in_start_order(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            for i in range(5):
                otp.send_after(otp.self(), i, 1.0)
            return [await otp.receive() for _ in range(5)]

        assert clock.run(main) == [0, 1, 2, 3, 4]

    def test_cancel_timer_returns_the_exact_time_left(self, clock: VirtualClock) -> None:
        async def main() -> object:
            ref = otp.send_after(otp.self(), "x", 10)
            await asyncio.sleep(4)
            return otp.cancel_timer(ref)

        assert clock.run(main) == 6.0


class TestAdvance:
    def test_advance_moves_time_forward(self, clock: VirtualClock) -> None:
        clock.advance(2.0)
        clock.advance(0.5)
        assert clock.time() == 2.5

    def test_advance_refuses_to_go_back(self, clock: VirtualClock) -> None:
        with pytest.raises(ValueError, match="forward"):
            clock.advance(-1)

    def test_advance_inside_the_loop_makes_due_timers_fire(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, float]:
            otp.send_after(otp.self(), "due", 10)
            clock.advance(10)
            return await otp.receive(), clock.time()

        assert clock.run(main) == ("due", 10.0)


class TestRealIO:
    def test_real_sockets_work_with_no_timer_pending(self, clock: VirtualClock) -> None:
        async def main() -> bytes:
            a, b = socket.socketpair()
            with a, b:
                reader, writer = await asyncio.open_connection(sock=a)

                def write_later() -> None:
                    b.sendall(b"hello")

                threading.Thread(target=write_later).start()
                data = await reader.readexactly(5)
                writer.close()
                return data

        assert clock.run(main) == b"hello"
        assert clock.time() == 0.0

    def test_ready_io_is_handled_before_time_jumps(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bytes, float]:
            a, b = socket.socketpair()
            with a, b:
                reader, writer = await asyncio.open_connection(sock=a)
                b.sendall(b"ping")
                data = await asyncio.wait_for(reader.readexactly(4), timeout=30)
                writer.close()
                return data, clock.time()

        assert clock.run(main) == (b"ping", 0.0)

    def test_work_in_threads_completes(self, clock: VirtualClock) -> None:
        async def main() -> int:
            return await asyncio.to_thread(sum, range(10))

        assert clock.run(main) == 45

    def test_a_timeout_does_not_overtake_work_in_a_thread(self, clock: VirtualClock) -> None:
        done = threading.Event()

        async def main() -> bool:
            threading.Thread(target=done.set).start()
            return await asyncio.wait_for(asyncio.to_thread(done.wait), timeout=60)

        assert clock.run(main) is True
        assert clock.time() < 60

    def test_autojump_threshold_waits_for_a_real_reply_before_jumping(self) -> None:
        clock = VirtualClock(autojump_threshold=30.0)

        async def main() -> tuple[bytes, float]:
            a, b = socket.socketpair()
            with a, b:
                reader, writer = await asyncio.open_connection(sock=a)
                threading.Thread(target=b.sendall, args=(b"late",)).start()
                data = await asyncio.wait_for(reader.readexactly(4), timeout=1)
                writer.close()
                return data, clock.time()

        assert clock.run(main) == (b"late", 0.0)

    def test_a_negative_autojump_threshold_is_refused(self) -> None:
        with pytest.raises(ValueError, match="autojump_threshold"):
            VirtualClock(autojump_threshold=-1)


class TestWaitIdle:
    def test_returns_once_every_process_has_run_to_its_wait(self, clock: VirtualClock) -> None:
        async def worker(parent: otp.Pid, n: int) -> None:
            for _ in range(n):
                await asyncio.sleep(0)
            otp.send(parent, n)
            await otp.receive()

        async def main() -> tuple[int, float]:
            for n in range(1, 20):
                otp.spawn(worker, otp.self(), n)
            await wait_idle()
            info = otp.process_info(otp.self())
            assert info is not None
            queued = info["message_queue_len"]
            assert isinstance(queued, int)
            return queued, clock.time()

        assert clock.run(main) == (19, 0.0)

    def test_does_not_move_time_or_fire_timers(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, float]:
            otp.send_after(otp.self(), "later", 1)
            await wait_idle()
            info = otp.process_info(otp.self())
            assert info is not None
            queued = info["message_queue_len"]
            assert isinstance(queued, int)
            return queued, clock.time()

        assert clock.run(main) == (0, 0.0)

    def test_returns_at_once_when_already_idle(self, clock: VirtualClock) -> None:
        async def main() -> float:
            await wait_idle()
            await wait_idle()
            return clock.time()

        assert clock.run(main) == 0.0

    def test_a_process_blocked_forever_counts_as_idle(self, clock: VirtualClock) -> None:
        async def stuck() -> None:
            await otp.receive()

        async def main() -> str:
            pid = otp.spawn(stuck)
            await wait_idle()
            info = otp.process_info(pid)
            assert info is not None
            return str(info["status"])

        assert clock.run(main) == "waiting"

    def test_several_waiters_all_wake(self, clock: VirtualClock) -> None:
        async def waiter(parent: otp.Pid) -> None:
            await wait_idle()
            otp.send(parent, "idle")

        async def main() -> list[object]:
            for _ in range(3):
                otp.spawn(waiter, otp.self())
            return [await otp.receive(timeout=0.001) for _ in range(3)]

        assert clock.run(main) == ["idle"] * 3
        assert clock.time() == 0.0

    def test_a_cancelled_wait_leaves_nothing_behind(self, clock: VirtualClock) -> None:
        async def main() -> float:
            task = asyncio.ensure_future(wait_idle())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_idle()
            return clock.time()

        assert clock.run(main) == 0.0

    def test_works_best_effort_on_a_plain_loop(self) -> None:
        async def worker(parent: otp.Pid) -> None:
            for _ in range(5):
                await asyncio.sleep(0)
            otp.send(parent, "done")

        async def main() -> object:
            otp.spawn(worker, otp.self())
            await wait_idle()
            return await otp.receive(timeout=0)

        assert otp.run(main) == "done"
