"""otp.telemetry: handlers, span, and the events the library emits."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from telemetry_servers import Crashy, Echo, Slow

import otp
from otp._runtime._scheduler import current_node
from otp.testing import VirtualClock

Seen = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]


def recorder(seen: Seen) -> Any:
    def handler(event: tuple[str, ...], m: dict[str, Any], md: dict[str, Any], c: object) -> None:
        seen.append((event, m, md))

    return handler


def attach_all(seen: Seen, *prefixes: tuple[str, ...]) -> None:
    events = [(*p, s) for p in prefixes for s in ("start", "stop", "exception")]
    otp.telemetry.attach_many("test", events, recorder(seen))


class TestAttach:
    def test_a_handler_gets_event_measurements_metadata_and_config(
        self, clock: VirtualClock
    ) -> None:
        seen: list[tuple[object, ...]] = []

        async def main() -> None:
            otp.telemetry.attach("h", ("app", "tick"), lambda *a: seen.append(a), "cfg")
            otp.telemetry.execute(("app", "tick"), {"n": 1}, {"who": "me"})
            otp.telemetry.execute(("app", "other"), {"n": 2})

        clock.run(main)
        assert seen == [(("app", "tick"), {"n": 1}, {"who": "me"}, "cfg")]

    def test_attaching_an_id_twice_raises(self, clock: VirtualClock) -> None:
        async def main() -> None:
            otp.telemetry.attach("h", ("app", "tick"), print)
            with pytest.raises(ValueError, match="'h' is already attached"):
                otp.telemetry.attach("h", ("app", "tock"), print)

        clock.run(main)

    @pytest.mark.parametrize("bad", ["app.tick", (), ("app", 1), ["app", "tick"]])
    def test_an_event_must_be_a_tuple_of_str(self, clock: VirtualClock, bad: object) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="non-empty tuple of str"):
                otp.telemetry.attach("h", bad, print)  # type: ignore[arg-type]

        clock.run(main)

    def test_outside_a_node_it_says_where_to_call_it(self) -> None:
        with pytest.raises(otp.NotInProcess, match=r"otp\.run\(main\)"):
            otp.telemetry.attach("h", ("app", "tick"), print)

    def test_handlers_belong_to_their_node(self, clock: VirtualClock) -> None:
        async def main() -> int:
            otp.telemetry.attach("h", ("app", "tick"), print)
            return len(otp.telemetry.list_handlers())

        assert clock.run(main) == 1
        assert clock.run(main) == 1  # a fresh node has none: attaching again works


class TestDetachAndList:
    def test_detach_removes_every_event_of_the_id(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, ...]:
            otp.telemetry.attach_many("h", [("a", "x"), ("a", "y")], print, 7)
            otp.telemetry.attach("k", ("b",), print)
            listed = otp.telemetry.list_handlers(("a",))
            return (
                [(h.id, h.event, h.config) for h in listed],
                otp.telemetry.detach("h"),
                otp.telemetry.detach("h"),
                [h.id for h in otp.telemetry.list_handlers()],
            )

        assert clock.run(main) == ([("h", ("a", "x"), 7), ("h", ("a", "y"), 7)], True, False, ["k"])

    def test_attach_many_refuses_a_single_event(self, clock: VirtualClock) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="use attach for one event"):
                otp.telemetry.attach_many("h", ("a", "x"), print)  # type: ignore[arg-type]

        clock.run(main)


class TestFailingHandler:
    def test_a_raising_handler_is_detached_and_logged_once(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: list[object] = []

        def bad(*_: object) -> None:
            raise RuntimeError("broken")

        async def main() -> list[object]:
            otp.telemetry.attach_many("bad", [("a", "x"), ("a", "y")], bad)
            otp.telemetry.attach("good", ("a", "x"), lambda *a: seen.append(a[1]))
            for n in range(3):
                otp.telemetry.execute(("a", "x"), {"n": n})
                otp.telemetry.execute(("a", "y"), {"n": n})
            return [h.id for h in otp.telemetry.list_handlers()]

        with caplog.at_level(logging.ERROR, logger="otp.telemetry"):
            assert clock.run(main) == ["good"]
        [record] = [r for r in caplog.records if r.name == "otp.telemetry"]
        assert "'bad'" in record.getMessage() and "RuntimeError: broken" in record.getMessage()
        assert "detached" in record.getMessage()
        assert seen == [{"n": 0}, {"n": 1}, {"n": 2}]


class TestSpan:
    def test_span_emits_start_and_stop_with_the_block_s_metadata(self, clock: VirtualClock) -> None:
        seen: Seen = []

        async def main() -> None:
            attach_all(seen, ("app", "load"))
            with otp.telemetry.span(("app", "load"), {"file": "a"}) as meta:
                await asyncio.sleep(2)
                meta["rows"] = 3

        clock.run(main)
        (start, m0, md0), (stop, m1, md1) = seen
        assert (start, md0) == (("app", "load", "start"), {"file": "a"})
        assert set(m0) == {"monotonic_time", "system_time"}
        assert (stop, md1) == (("app", "load", "stop"), {"file": "a", "rows": 3})
        assert m1 == {"duration": 2.0, "monotonic_time": m0["monotonic_time"] + 2.0}

    def test_an_exception_is_emitted_and_propagates(self, clock: VirtualClock) -> None:
        seen: Seen = []
        error = ValueError("bad row")

        async def main() -> None:
            attach_all(seen, ("app", "load"))
            with pytest.raises(ValueError), otp.telemetry.span(("app", "load"), {"file": "a"}):
                raise error

        clock.run(main)
        [_, (event, measurements, metadata)] = seen
        assert event == ("app", "load", "exception")
        assert metadata == {"file": "a", "kind": "error", "reason": error}
        assert measurements["duration"] == 0.0

    def test_without_handlers_a_span_only_runs_its_block(self, clock: VirtualClock) -> None:
        async def main() -> int:
            with otp.telemetry.span(("app", "load"), {}) as meta:
                meta["x"] = 1
            return len(meta)

        assert clock.run(main) == 1


class TestCallEvents:
    def test_an_inline_call_emits_start_and_stop(self, clock: VirtualClock) -> None:
        seen: Seen = []

        async def main() -> otp.Pid:
            attach_all(seen, ("otp", "call"))
            pid = await Echo.start_link(None, name="echo")
            assert pid is not None
            assert await otp.call(pid, "hi") == "hi"
            return pid

        pid = clock.run(main)
        (start, m0, md), (stop, m1, md1) = seen
        assert (start, stop) == (("otp", "call", "start"), ("otp", "call", "stop"))
        assert md == md1 == {"server": pid, "name": "echo", "behaviour": "Echo", "request": "hi"}
        assert m0 == {"monotonic_time": 0.0}
        assert m1 == {"duration": 0.0, "monotonic_time": 0.0}

    def test_queued_calls_handled_in_a_batch_emit_too(self, clock: VirtualClock) -> None:
        seen: Seen = []

        async def main() -> list[object]:
            pid = await Echo.start_link(None)
            await otp.sys.suspend(pid)
            attach_all(seen, ("otp", "call"))
            tasks = [otp.Task.async_(otp.call, pid, n) for n in range(3)]
            await otp.testing.wait_idle()
            await otp.sys.resume(pid)
            return [await otp.Task.await_(t) for t in tasks]

        assert clock.run(main) == [0, 1, 2]
        assert [(e[-1], md["request"]) for e, _, md in seen] == [
            ("start", 0),
            ("stop", 0),
            ("start", 1),
            ("stop", 1),
            ("start", 2),
            ("stop", 2),
        ]

    def test_a_raising_handle_call_emits_an_exception(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> None:
            attach_all(seen, ("otp", "call"))
            pid = await Echo.start(None)
            assert pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(pid, "boom")

        clock.run(main)
        [_, (event, measurements, metadata)] = seen
        assert event == ("otp", "call", "exception")
        assert metadata["kind"] == "error" and isinstance(metadata["reason"], ValueError)
        assert set(measurements) == {"duration", "monotonic_time"}

    def test_an_async_handle_call_s_span_ends_with_its_coroutine(self, clock: VirtualClock) -> None:
        seen: Seen = []

        async def main() -> object:
            attach_all(seen, ("otp", "call"))
            pid = await Slow.start_link(None)
            assert pid is not None
            return await otp.call(pid, 1.5)

        assert clock.run(main) == "done"
        assert [(e[-1], m.get("duration")) for e, m, _ in seen] == [
            ("start", None),
            ("stop", 1.5),
        ]


class TestCastEvents:
    def test_a_cast_emits_start_and_stop(self, clock: VirtualClock) -> None:
        seen: Seen = []

        async def main() -> otp.Pid:
            attach_all(seen, ("otp", "cast"))
            pid = await Echo.start_link(None)
            assert pid is not None
            otp.cast(pid, ("put", 1))
            await otp.call(pid, "sync")
            return pid

        pid = clock.run(main)
        assert [(e, md) for e, _, md in seen] == [
            (
                ("otp", "cast", e),
                {"server": pid, "name": None, "behaviour": "Echo", "request": ("put", 1)},
            )
            for e in ("start", "stop")
        ]

    def test_an_async_cast_and_a_raising_cast(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> None:
            attach_all(seen, ("otp", "cast"))
            slow = await Slow.start_link(None)
            assert slow is not None
            otp.cast(slow, 3.0)
            await otp.sys.get_state(slow)  # after the cast's coroutine
            echo = await Echo.start(None)
            assert echo is not None
            ref = otp.monitor(echo)
            otp.cast(echo, "boom")
            await otp.receive(
                match=lambda m: m if isinstance(m, otp.Down) and m.ref == ref else None
            )

        clock.run(main)
        assert [(e[-1], m.get("duration")) for e, m, _ in seen[:2]] == [
            ("start", None),
            ("stop", 3.0),
        ]
        event, _, metadata = seen[-1]
        assert event == ("otp", "cast", "exception")
        assert metadata["kind"] == "error" and isinstance(metadata["reason"], KeyError)


class TestCrashEvents:
    def test_a_plain_process_crash_is_emitted_and_kept(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []
        error = ValueError("no")

        async def boom() -> None:
            raise error

        async def main() -> tuple[otp.Pid, Any]:
            otp.telemetry.attach("c", ("otp", "process", "crash"), recorder(seen))
            pid, _ = otp.spawn_monitor(boom)
            await otp.receive(match=lambda m: m if isinstance(m, otp.Down) else None)
            return pid, current_node().crash_reports[-1]

        pid, report = clock.run(main)
        assert seen == [
            (
                ("otp", "process", "crash"),
                {"count": 1},
                {"pid": pid, "name": None, "behaviour": None, "reason": error},
            )
        ]
        assert (report.pid, report.name, report.behaviour, report.reason) == (
            pid,
            None,
            None,
            "ValueError: no",
        )
        assert report.report.startswith(f"Process {pid} crashed: ValueError: no\nTraceback")
        assert isinstance(report.time, float)

    def test_a_gen_server_crash_is_kept_with_its_report(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> tuple[otp.Pid, Any]:
            otp.telemetry.attach("c", ("otp", "process", "crash"), recorder(seen))
            pid = await Echo.start(None, name="echo")
            assert pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(pid, "boom")
            return pid, list(current_node().crash_reports)

        pid, reports = clock.run(main)
        [(_, _, metadata)] = seen
        assert metadata["pid"] == pid and metadata["name"] == "echo"
        assert metadata["behaviour"] == "Echo" and isinstance(metadata["reason"], ValueError)
        [report] = reports
        assert (report.name, report.behaviour, report.reason) == (
            "echo",
            "Echo",
            "ValueError: boom",
        )
        assert "** Last message: call 'boom'" in report.report
        assert "Traceback" in report.report

    def test_the_node_keeps_the_last_100_reports(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def boom(n: int) -> None:
            raise ValueError(n)

        async def main() -> list[str]:
            for n in range(105):
                otp.spawn(boom, n)
            await otp.testing.wait_idle()
            return [r.reason for r in current_node().crash_reports]

        reasons = clock.run(main)
        assert len(reasons) == 100 and reasons[0] == "ValueError: 5"


class TestSupervisorEvents:
    def test_a_restart_names_the_supervisor_the_child_and_the_old_pid(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> tuple[otp.Pid, otp.Pid]:
            otp.telemetry.attach_many(
                "s",
                [("otp", "supervisor", "restart"), ("otp", "supervisor", "shutdown")],
                recorder(seen),
            )
            sup = await otp.Supervisor.start_link(
                [otp.ChildSpec(id="worker", start=lambda: Crashy.start_link(None))],
                name="sup",
            )
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(child.pid, "x")
            await otp.sys.get_state(sup)
            return sup, child.pid

        sup, old = clock.run(main)
        [(event, measurements, metadata)] = seen
        assert (event, measurements) == (("otp", "supervisor", "restart"), {"count": 1})
        assert metadata["supervisor"] == sup and metadata["supervisor_name"] == "sup"
        assert metadata["child_id"] == "worker" and metadata["child_pid"] == old
        assert isinstance(metadata["reason"], RuntimeError)

    def test_reaching_the_restart_intensity_emits_shutdown(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> otp.Pid:
            otp.telemetry.attach("s", ("otp", "supervisor", "shutdown"), recorder(seen))
            otp.trap_exit(True)  # the supervisor's exit must not end main
            sup = await otp.Supervisor.start_link(
                [otp.ChildSpec(id="worker", start=lambda: Crashy.start_link(None))],
                max_restarts=0,
            )
            ref = otp.monitor(sup)
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            with pytest.raises(otp.Exit):
                await otp.call(child.pid, "x")
            await otp.receive(
                match=lambda m: m if isinstance(m, otp.Down) and m.ref == ref else None
            )
            return sup

        sup = clock.run(main)
        assert seen == [
            (
                ("otp", "supervisor", "shutdown"),
                {"count": 1},
                {
                    "supervisor": sup,
                    "supervisor_name": None,
                    "reason": "reached_max_restart_intensity",
                },
            )
        ]

    def test_a_dynamic_supervisor_restart_is_emitted(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: Seen = []

        async def main() -> tuple[otp.Pid, otp.Pid]:
            otp.telemetry.attach("s", ("otp", "supervisor", "restart"), recorder(seen))
            sup = await otp.DynamicSupervisor.start_link(name="dyn")
            child = await otp.DynamicSupervisor.start_child(
                sup, otp.ChildSpec(id="w", start=lambda: Crashy.start_link(None))
            )
            assert isinstance(child, otp.Pid)
            with pytest.raises(otp.Exit):
                await otp.call(child, "x")
            await otp.sys.get_state(sup)
            return sup, child

        sup, old = clock.run(main)
        [(_, _, metadata)] = seen
        assert metadata["supervisor"] == sup and metadata["supervisor_name"] == "dyn"
        assert metadata["child_pid"] == old and metadata["child_id"] == "w"
