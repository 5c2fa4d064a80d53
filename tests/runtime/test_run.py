"""`otp.run`: the first process, its result, its errors, and crash logging."""

from __future__ import annotations

import asyncio
import logging

import pytest

import otp
from otp.testing import VirtualClock


async def forever() -> None:
    await otp.receive(match=lambda m: False)


def otp_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "otp"]


class TestRun:
    def test_returns_what_main_returns(self) -> None:
        async def main(a: int, b: int) -> int:
            return a * b

        assert otp.run(main, 6, 7) == 42

    def test_a_plain_def_main_raises_before_anything_runs(self) -> None:
        ran = []

        def main() -> None:
            ran.append(True)

        with pytest.raises(TypeError, match=r"run needs an async def .*make it `async def`"):
            otp.run(main)  # type: ignore[arg-type]
        assert ran == []

    def test_main_is_a_process(self) -> None:
        async def main() -> bool:
            return otp.self() in otp.processes()

        assert otp.run(main) is True

    def test_an_exception_in_main_propagates_unchanged(self) -> None:
        error = ValueError("from main")

        async def main() -> None:
            raise error

        with pytest.raises(ValueError) as info:
            otp.run(main)
        assert info.value is error

    def test_an_exception_in_main_is_not_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        async def main() -> None:
            raise ValueError("the caller sees it")

        with pytest.raises(ValueError):
            otp.run(main)
        assert otp_records(caplog) == []

    def test_other_processes_are_shut_down_when_main_returns(self) -> None:
        async def main() -> list[otp.Pid]:
            return [otp.spawn(forever), otp.spawn_link(forever)]

        pids = otp.run(main)
        assert [otp.is_alive(p) for p in pids] == [False, False]

    def test_other_processes_are_shut_down_when_main_raises(self) -> None:
        stopped: list[object] = []

        async def trapper() -> None:
            otp.trap_exit(True)
            stopped.append(await otp.receive())

        async def main() -> None:
            otp.spawn(trapper)
            await asyncio.sleep(0)
            raise KeyError("main failed")

        with pytest.raises(KeyError):
            otp.run(main)
        assert [getattr(m, "reason", None) for m in stopped] == ["shutdown"]

    def test_main_killed_by_a_linked_crash_raises_exit_with_the_crash(self) -> None:
        async def crash() -> None:
            raise ZeroDivisionError("child")

        async def main() -> None:
            otp.spawn_link(crash)
            await forever()

        with pytest.raises(otp.Exit) as info:
            otp.run(main)
        assert isinstance(info.value.reason, ZeroDivisionError)

    def test_raise_exit_in_main_propagates(self) -> None:
        async def main() -> None:
            raise otp.Exit("shutdown")

        with pytest.raises(otp.Exit) as info:
            otp.run(main)
        assert info.value.reason == "shutdown"

    def test_each_run_has_a_fresh_node(self) -> None:
        async def main() -> tuple[int, list[str]]:
            otp.register("main", otp.self())
            return len(otp.processes()), otp.registered()

        assert otp.run(main) == otp.run(main) == (1, ["main"])

    def test_runs_on_uvloop(self) -> None:
        pytest.importorskip("uvloop")

        async def main() -> str:
            otp.send(otp.self(), "uv")
            return str(await otp.receive(timeout=1))

        assert otp.run(main, use_uvloop=True) == "uv"

    def test_runs_on_a_virtual_clock(self, clock: VirtualClock) -> None:
        async def main() -> float:
            await asyncio.sleep(30)
            return clock.time()

        assert clock.run(main) == 30.0

    def test_inside_a_running_loop_raises(self) -> None:
        async def main() -> None:
            pass

        async def outer() -> None:
            with pytest.raises(RuntimeError, match=r"async with otp\.Node\(\)"):
                otp.run(main)

        asyncio.run(outer())


class TestCrashLogging:
    def test_a_crash_logs_one_error_naming_the_pid_with_the_traceback(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def crash() -> None:
            raise ValueError("kaboom")

        async def main() -> otp.Pid:
            pid, _ref = otp.spawn_monitor(crash)
            await otp.receive()
            return pid

        pid = otp.run(main)
        [record] = otp_records(caplog)
        assert record.levelno == logging.ERROR
        message = record.getMessage()
        assert str(pid) in message and "ValueError" in message and "kaboom" in message
        assert record.exc_info is not None and record.exc_info[0] is ValueError
        assert "raise ValueError" in caplog.text  # the traceback

    def test_a_crash_names_the_registered_name(self, caplog: pytest.LogCaptureFixture) -> None:
        async def crash() -> None:
            otp.register("worker", otp.self())
            raise ValueError("named")

        async def main() -> None:
            _pid, _ref = otp.spawn_monitor(crash)
            await otp.receive()

        otp.run(main)
        [record] = otp_records(caplog)
        assert "'worker'" in record.getMessage()

    def test_a_crash_that_kills_linked_processes_is_logged_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def crash() -> None:
            raise ValueError("once")

        async def middle() -> None:
            otp.spawn_link(crash)
            await forever()

        async def main() -> None:
            _pid, _ref = otp.spawn_monitor(middle)
            await otp.receive()

        otp.run(main)
        assert len([r for r in otp_records(caplog) if r.levelno >= logging.ERROR]) == 1

    def test_exits_that_are_not_crashes_are_not_logged(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def ends(reason: object) -> None:
            raise otp.Exit(reason)

        async def main() -> None:
            for reason in ["normal", "shutdown", ("shutdown", 1), "custom"]:
                otp.spawn_monitor(ends, reason)
                await otp.receive()
            pid, _ref = otp.spawn_monitor(forever)
            otp.exit(pid, "kill")
            await otp.receive()

        otp.run(main)
        assert otp_records(caplog) == []


class TestNodeOptions:
    def test_run_accepts_every_option_of_node(self) -> None:
        import inspect

        node_options = {
            name
            for name, p in inspect.signature(otp.Node).parameters.items()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        } - {"name"}
        run_options = set(inspect.signature(otp.run).parameters)
        assert node_options <= run_options, node_options - run_options

    def test_an_option_given_to_run_reaches_the_node(self) -> None:
        async def main() -> tuple[float | None, int, int]:
            node = otp.self().rt  # type: ignore[attr-defined]
            return node.slow_callback, node.batch, node.report_limit

        assert otp.run(main, slow_callback=0.5, batch=7, report_limit=200) == (0.5, 7, 200)

    def test_a_bad_option_fails_before_anything_runs(self) -> None:
        async def main() -> None:  # pragma: no cover - never runs
            raise AssertionError

        with pytest.raises(ValueError, match="slow_callback must be seconds"):
            otp.run(main, slow_callback=-1)
