"""The long-mailbox warning: `Node(mailbox_warning=...)`, once per tenfold per process."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock


class Counter(otp.GenServer):
    def init(self, arg: object) -> object:
        return 0

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(state, state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, int)
        return otp.NoReply(state + 1)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "otp" and "messages in its mailbox" in r.getMessage()
    ]


async def _fill_suspended(casts: int, calls: int = 0) -> otp.Pid:
    """A suspended server named 'counter' with `casts` bumps (and `calls` gets) queued."""
    pid = await Counter.start_link(None, name="counter")
    assert pid is not None
    await otp.sys.suspend(pid)
    for i in range(casts):
        otp.cast(pid, ("bump", i))
    for _ in range(calls):
        otp.spawn(otp.call, pid, "get", None)
    return pid


class TestMailboxWarning:
    def test_a_server_reaching_10_000_messages_warns_once_naming_it_and_its_kinds(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> int:
            pid = await _fill_suspended(9_000)
            for _ in range(1_000):
                otp.cast(pid, "tick")
            await otp.testing.wait_idle()  # the server's due run has seen its mailbox
            for _ in range(500):
                otp.cast(pid, "tick")
            await otp.sys.resume(pid)
            count = await otp.call(pid, "get")
            assert isinstance(count, int)
            return count

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert clock.run(main) == 10_500
        [warning] = _warnings(caplog)
        assert "'counter'" in warning
        assert "(Counter)" in warning
        assert "has 10000 messages" in warning
        assert "bump: 9000" in warning and "tick: 1000" in warning
        assert "PartitionSupervisor" in warning
        assert "Next warning at 100000" in warning

    def test_calls_are_counted_as_call_and_their_kind(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await _fill_suspended(9_990, calls=10)
            await otp.testing.wait_idle()  # the callers have queued their calls
            await otp.sys.resume(pid)

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main, mailbox_warning=10_000)
        [warning] = _warnings(caplog)
        assert "bump: 9990, call get: 10" in warning

    def test_9_999_messages_are_silent(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            await _fill_suspended(9_999)  # and stopped so, at the end of main

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main)
        assert _warnings(caplog) == []

    def test_100_000_messages_warn_again_and_only_at_each_tenfold(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await _fill_suspended(10_000)
            await otp.testing.wait_idle()
            for i in range(90_000):
                otp.cast(pid, ("bump", i))
            await otp.testing.wait_idle()
            await otp.sys.resume(pid)

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main)
        first, second = _warnings(caplog)
        assert "has 10000 messages" in first and "Next warning at 100000" in first
        assert "has 100000 messages" in second and "Next warning at 1000000" in second

    def test_a_plain_process_warns_with_its_tuple_kinds(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def idle() -> None:
            await otp.receive(match=lambda m: m if m == "never" else None)

        async def main() -> None:
            pid = otp.spawn(idle)
            for i in range(10):
                otp.send(pid, ("job", i))

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main, mailbox_warning=10)
        [warning] = _warnings(caplog)
        assert "has 10 messages" in warning and "job: 10" in warning

    def test_none_turns_the_warning_off(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await _fill_suspended(10_000)
            await otp.sys.resume(pid)

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main, mailbox_warning=None)
        assert _warnings(caplog) == []

    def test_the_warning_is_emitted_as_a_telemetry_event(self, clock: VirtualClock) -> None:
        seen: list[tuple[dict[str, object], dict[str, object]]] = []

        async def main() -> otp.Pid:
            otp.telemetry.attach(
                "long", ("otp", "mailbox", "long"), lambda e, m, md, c: seen.append((m, md))
            )
            pid = await _fill_suspended(20)
            await otp.testing.wait_idle()
            await otp.sys.resume(pid)
            return pid

        pid = clock.run(main, mailbox_warning=20)
        [(measurements, metadata)] = seen
        assert measurements == {"length": 20}
        assert metadata == {
            "pid": pid,
            "name": "counter",
            "behaviour": "Counter",
            "kinds": {"bump": 20},
        }


class TestMailboxWarningOption:
    @pytest.mark.parametrize("bad", [0, -5, 1.5, "10000", True])
    def test_a_bad_value_says_what_to_pass(self, bad: object) -> None:
        with pytest.raises(ValueError, match="mailbox_warning must be a number of queued"):
            otp.Node(mailbox_warning=bad)  # type: ignore[arg-type]

    def test_run_checks_it_before_starting(self) -> None:
        async def main() -> None:
            pass

        with pytest.raises(ValueError, match="or None to turn the warning off"):
            otp.run(main, mailbox_warning=0)

    def test_the_default_is_10_000(self) -> None:
        assert otp.Node().mailbox_warning == 10_000


class TestBurstToARunningServer:
    def test_a_burst_of_casts_in_one_step_is_reported_before_it_is_handled(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await Counter.start_link(None, name="counter")
            assert pid is not None
            for i in range(12_000):  # one step: after the first, the server's run is due
                otp.cast(pid, ("bump", i))
            await otp.testing.wait_idle()
            assert await otp.call(pid, "get") == 12_000

        with caplog.at_level(logging.WARNING, logger="otp"):
            clock.run(main)
        [warning] = _warnings(caplog)
        assert "has 12000 messages in its mailbox (the oldest 10000: bump: 10000)" in warning
