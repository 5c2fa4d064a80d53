"""Crash reports: one ERROR record on logger "otp" per crash, with all it needs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import otp
from otp.testing import VirtualClock, wait_idle


class Vault(otp.GenServer):
    """Crashes on demand; `format_status` hides the secret in its state."""

    def init(self, arg: Any) -> Any:
        return {"secret": "hunter2", "count": 0}

    def handle_call(self, request: Any, from_: otp.From, state: Any) -> Any:
        if request == "crash":
            raise ValueError("crash in call")
        if request == "stop":
            return otp.Stop("database_gone", state)
        return otp.Reply(state["count"], state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "crash":
            raise ValueError("crash in cast")
        if request == "stop_normal":
            return otp.Stop("normal", state)
        if request == "stop_shutdown":
            return otp.Stop(("shutdown", "bye"), state)
        return otp.NoReply({**state, "count": state["count"] + 1})

    def handle_info(self, msg: Any, state: Any) -> Any:
        raise ValueError("crash in info")

    def handle_continue(self, arg: Any, state: Any) -> Any:
        raise ValueError("crash in continue")

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        state = status["state"]
        assert isinstance(state, dict)
        return {**status, "state": {**state, "secret": "<redacted>"}}


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _crash(pid: otp.Pid | None, how: str) -> object:
    """Make `pid` crash `how`; wait for it to be gone; return its reason."""
    assert pid is not None
    ref = otp.monitor(pid)
    if how == "call":
        with pytest.raises(otp.Exit):
            await otp.call(pid, "crash")
    elif how == "cast":
        otp.cast(pid, "crash")
    elif how == "info":
        otp.send(pid, "anything")
    down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down)
    await wait_idle()
    return down.reason


class TestCrashReport:
    @pytest.mark.parametrize(
        ("how", "last"),
        [("call", "call 'crash' from {me}"), ("cast", "cast 'crash'"), ("info", "'anything'")],
    )
    def test_one_error_names_process_message_state_and_traceback(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture, how: str, last: str
    ) -> None:
        async def main() -> tuple[str, str, object]:
            pid = await Vault.start(None, name="vault")
            return str(otp.self()), str(pid), await _crash(pid, how)

        me, pid, reason = clock.run(main)
        [report] = _errors(caplog)
        text = report.getMessage()
        assert report.name == "otp"
        assert f"Vault {pid} ('vault')" in text
        assert "Last message: " + last.format(me=me) in text
        assert "'<redacted>'" in text and "hunter2" not in text
        assert "ValueError: crash in" in text
        assert report.exc_info is not None and report.exc_info[1] is reason

    def test_a_crash_in_handle_continue_names_the_continue(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            pid = await ContinuesThenCrashes.start(None)
            return await _crash(pid, "continue runs by itself")

        assert isinstance(clock.run(main), ValueError)
        [report] = _errors(caplog)
        assert "Last message: continue 'go'" in report.getMessage()

    def test_a_crash_in_an_async_callback_is_reported_once(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class AsyncCrash(otp.GenServer):
            async def handle_cast(self, request: Any, state: Any) -> Any:
                await asyncio.sleep(1)
                raise KeyError(request)

        async def main() -> object:
            pid = await AsyncCrash.start("s")
            return await _crash(pid, "cast")

        reason = clock.run(main)
        [report] = _errors(caplog)
        assert report.exc_info is not None and report.exc_info[1] is reason
        assert "cast 'crash'" in report.getMessage()

    def test_an_abnormal_stop_is_reported_without_a_traceback(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await Vault.start(None)
            assert pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(pid, "stop")

        clock.run(main)
        [report] = _errors(caplog)
        assert "Reason: 'database_gone'" in report.getMessage()
        assert not report.exc_info

    @pytest.mark.parametrize("request_", ["stop_normal", "stop_shutdown"])
    def test_normal_and_shutdown_exits_are_not_reported(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture, request_: str
    ) -> None:
        async def main() -> object:
            pid = await Vault.start(None)
            assert pid is not None
            ref = otp.monitor(pid)
            otp.cast(pid, request_)
            down = await otp.receive()
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        clock.run(main)
        assert _errors(caplog) == []

    def test_a_linked_caller_killed_by_the_crash_adds_no_report(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def linked_caller(parent: otp.Pid) -> None:
            pid = await Vault.start_link(None)
            assert pid is not None
            otp.send(parent, pid)
            await otp.call(pid, "crash")

        async def main() -> object:
            _, ref = otp.spawn_monitor(linked_caller, otp.self())
            await otp.receive()  # the server's pid
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down))
            assert isinstance(down, otp.Down) and down.ref == ref
            return down.reason

        assert isinstance(clock.run(main), ValueError)
        assert len(_errors(caplog)) == 1

    def test_a_format_status_that_raises_hides_the_state(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BadFormat(otp.GenServer):
            def handle_cast(self, request: Any, state: Any) -> Any:
                raise ValueError("crash")

            def format_status(self, status: dict[str, object]) -> dict[str, object]:
                raise RuntimeError("format_status is broken")

        async def main() -> object:
            pid = await BadFormat.start("top secret")
            return await _crash(pid, "cast")

        clock.run(main)
        [report] = _errors(caplog)
        text = report.getMessage()
        assert "top secret" not in text and "format_status raised RuntimeError" in text


class ContinuesThenCrashes(Vault):
    def init(self, arg: Any) -> Any:
        return otp.Ok({"secret": "hunter2"}, continue_="go")


# -- values that cannot be printed, and values too large to print -----------

#: An int that `repr()` refuses (over 4,300 digits), ordinary in Erlang.
HUGE = 10**5000


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("this __repr__ is broken")


class Crashes(otp.GenServer):
    """Crashes on any cast or call; its state is whatever init got."""

    def handle_cast(self, request: object, state: object) -> Any:
        raise ValueError("crash in cast")

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        raise ValueError("crash in call")


class Silent(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.NoReply(state)  # never replies


class TestUnprintableValues:
    @pytest.mark.parametrize("value", [HUGE, Unprintable()], ids=["huge int", "broken repr"])
    def test_a_crashing_cast_still_reports_signals_and_restarts(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture, value: object
    ) -> None:
        async def main() -> tuple[object, object]:
            sup = await otp.Supervisor.start_link(
                [Crashes.child_spec(value, name="crashes")], max_restarts=10
            )
            first = otp.whereis("crashes")
            assert first is not None
            ref = otp.monitor(first)
            otp.cast(first, ("work", value))
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            await wait_idle()
            assert sup is not None
            return down, otp.whereis("crashes") not in (None, first)

        down, restarted = clock.run(main)
        assert isinstance(down, otp.Down) and isinstance(down.reason, ValueError)
        assert restarted
        reports = [r for r in _errors(caplog) if "terminating" in r.getMessage()]
        assert len(reports) == 1
        text = reports[0].getMessage()
        assert "crash in cast" in text
        assert ("too large to print" in text) or ("repr() raised RuntimeError" in text)

    def test_a_crashing_call_with_a_huge_request_raises_exit_in_the_caller(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> object:
            pid = await Crashes.start(None)
            assert pid is not None
            try:
                await otp.call(pid, ("work", HUGE))
            except otp.Exit as exc:
                return exc.reason
            return "no exit"

        reason = clock.run(main)
        assert isinstance(reason, ValueError) and str(reason) == "crash in call"

    def test_calls_that_get_no_reply_time_out_whatever_their_request(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> list[object]:
            pid = await Silent.start(None)
            assert pid is not None
            outcomes: list[object] = []
            for request in [("work", HUGE), ("work", Unprintable()), "plain"]:
                try:
                    await otp.call(pid, request, timeout=1.0)
                except otp.CallTimeout as exc:
                    outcomes.append((clock.time(), exc.reason))
            return outcomes

        assert clock.run(main) == [(1.0, "timeout"), (2.0, "timeout"), (3.0, "timeout")]

    def test_an_exit_with_an_unprintable_reason_can_be_raised(self, clock: VirtualClock) -> None:
        async def dies() -> None:
            raise otp.Exit(HUGE)

        async def main() -> object:
            _, ref = otp.spawn_monitor(dies)
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down)
            return down.reason == HUGE

        assert clock.run(main) is True


class TestReportLimit:
    def test_a_huge_state_is_cut_to_the_report_limit_with_a_note(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await Crashes.start(list(range(100_000)))
            await _crash(pid, "cast")

        clock.run(main)
        [report] = _errors(caplog)
        text = report.getMessage()
        assert len(text) < 3 * 8192 + 1000
        assert "cut at 8,192 characters" in text and "more items" in text

    def test_the_report_limit_is_a_node_option(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def main() -> None:
            pid = await Crashes.start("x" * 5000)
            await _crash(pid, "cast")

        clock.run(main, report_limit=100)
        [report] = _errors(caplog)
        assert "cut at 100 characters" in report.getMessage()
        assert len(report.getMessage()) < 1000

    def test_a_bad_report_limit_is_refused_saying_what_to_pass(self) -> None:
        with pytest.raises(ValueError, match="report_limit must be a number of characters"):
            otp.Node(report_limit=0)
