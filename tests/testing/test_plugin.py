"""otp's pytest plugin, run in inner pytest sessions (`pytester`).

Each test writes a small test file, runs it in a pytest session of its
own (in this process, with an ini of its own: `filterwarnings = error`, as
the project's), and looks at the outcome and report of each inner test.
The inner sessions load the plugin the way a user's do: through its
entry point, since `otp` is installed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from otp.testing import _plugin

pytest_plugins = ["pytester"]

INI = """\
[pytest]
filterwarnings = error
addopts = -p no:cacheprovider
"""

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_counter_example.py"


@dataclass
class Inner:
    """How one inner test ended: "passed", "failed" (in any phase) or "skipped"."""

    outcome: str
    text: str  # the failure report, as pytest prints it ("" for a pass)


def run(
    pytester: pytest.Pytester,
    source: str,
    *args: str,
    name: str = "test_inner",
    ini: str = INI,
) -> dict[str, Inner]:
    """Run `source` as a test file in an inner session; each test's outcome by name.

    The session loads otp's plugin alone: looking up every installed
    plugin's entry point costs more than the tests it runs (one test,
    `test_the_plugin_is_loaded_by_its_entry_point`, does look).
    """
    pytester.makeini(ini)
    pytester.makepyfile(**{name: textwrap.dedent(source)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        recorder = pytester.inline_run(*args, plugins=[_plugin])
    results: dict[str, Inner] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        name = report.nodeid.split("::", 1)[1]
        if report.outcome != "passed" or name not in results:
            results[name] = Inner(report.outcome, report.longreprtext)
    return results


def outcomes(results: dict[str, Inner]) -> dict[str, str]:
    return {name: result.outcome for name, result in results.items()}


class TestInertness:
    def test_tests_that_do_not_use_the_plugin_run_as_without_it(
        self, pytester: pytest.Pytester
    ) -> None:
        # Another plugin (here a conftest hook) runs the unmarked async test:
        # otp's plugin leaves it to that one.
        pytester.makeconftest(
            """
            import asyncio, inspect, pytest

            def pytest_pyfunc_call(pyfuncitem):
                if inspect.iscoroutinefunction(pyfuncitem.obj):
                    asyncio.run(pyfuncitem.obj())
                    return True
            """
        )
        results = run(
            pytester,
            """
            import asyncio, otp

            def test_plain():
                assert 1 + 1 == 2

            async def test_async_without_the_marker():
                with __import__("pytest").raises(otp.NotInProcess):
                    otp.self()
                assert type(asyncio.get_running_loop()).__name__ != "_VirtualLoop"
            """,
        )
        assert outcomes(results) == {
            "test_plain": "passed",
            "test_async_without_the_marker": "passed",
        }

    def test_the_plugin_is_loaded_by_its_entry_point(self, pytester: pytest.Pytester) -> None:
        pytester.makeini(INI)
        result = pytester.runpytest_inprocess("--markers")
        result.stdout.fnmatch_lines(
            ["@pytest.mark.otp(clock=False, timeout=None, **node_options)*"]
        )

    def test_dash_p_no_otp_turns_the_plugin_off(self, pytester: pytest.Pytester) -> None:
        pytester.makeini(INI)
        result = pytester.runpytest_inprocess("-p", "no:otp", "--markers")
        assert "@pytest.mark.otp" not in result.stdout.str()

    @pytest.mark.parametrize("mode", ["auto", "strict"])
    def test_with_pytest_asyncio_a_test_marked_otp_is_ours(
        self, pytester: pytest.Pytester, mode: str
    ) -> None:
        pytest.importorskip("pytest_asyncio")  # not a dependency: checked where installed
        ini = f"{INI}asyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
        results = run(
            pytester,
            """
            import asyncio, otp, pytest

            @pytest.mark.otp(clock=True)
            async def test_ours(virtual_clock):
                await asyncio.sleep(60)
                assert otp.processes() == [otp.self()]
                assert virtual_clock.time() == 60.0

            @pytest.mark.asyncio
            async def test_theirs():
                with pytest.raises(otp.NotInProcess):
                    otp.self()
            """,
            "-p",
            "pytest_asyncio.plugin",
            ini=ini,
        )
        assert outcomes(results) == {"test_ours": "passed", "test_theirs": "passed"}


class TestMarker:
    def test_a_marked_test_runs_as_the_first_process_of_a_fresh_node(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import otp, pytest

            nodes = []

            @pytest.mark.otp
            async def test_first(otp_node):
                assert otp.processes() == [otp.self()]
                assert otp.node() == "nonode@nohost"
                assert otp_node.procs == {otp.self()._id: otp.self()}
                nodes.append(otp_node)

            @pytest.mark.otp
            async def test_second(otp_node):
                assert otp.processes() == [otp.self()]
                assert otp_node is not nodes[0]
            """,
        )
        assert outcomes(results) == {"test_first": "passed", "test_second": "passed"}

    def test_a_failing_assertion_fails_the_test_with_pytests_report(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import pytest

            @pytest.mark.otp
            async def test_wrong():
                value = 41
                assert value == 42
            """,
        )
        assert results["test_wrong"].outcome == "failed"
        assert "assert 41 == 42" in results["test_wrong"].text

    def test_pytest_skip_and_fail_inside_a_marked_test_work_as_anywhere(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import pytest

            @pytest.mark.otp
            async def test_skipped():
                pytest.skip("not today")

            @pytest.mark.otp
            async def test_failed():
                pytest.fail("on purpose")
            """,
        )
        assert outcomes(results) == {"test_skipped": "skipped", "test_failed": "failed"}
        assert "on purpose" in results["test_failed"].text

    def test_a_marked_plain_def_test_fails_saying_to_make_it_async(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import pytest

            @pytest.mark.otp
            def test_sync():
                pass
            """,
        )
        assert results["test_sync"].outcome == "failed"
        assert "test_sync is a plain def: make it `async def`" in results["test_sync"].text

    def test_the_marker_on_a_class_applies_to_its_tests(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import otp, pytest

            @pytest.mark.otp(clock=True)
            class TestTogether:
                async def test_one(self, virtual_clock):
                    assert otp.self() in otp.processes()

                async def test_two(self):
                    assert otp.self() in otp.processes()
            """,
        )
        assert set(outcomes(results).values()) == {"passed"}

    def test_node_options_pass_through_to_the_node(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import pytest

            @pytest.mark.otp(report_limit=100, slow_callback=None, shutdown_timeout=2.0)
            async def test_options(otp_node):
                assert otp_node.report_limit == 100
                assert otp_node.slow_callback is None
                assert otp_node.shutdown_timeout == 2.0
            """,
        )
        assert results["test_options"].outcome == "passed"

    @pytest.mark.erlang
    def test_a_node_name_makes_the_tests_node_distributed(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import otp, pytest

            @pytest.mark.otp(node="plugin_test@127.0.0.1", cookie="plugin-cookie", timeout=30)
            async def test_named(otp_node):
                assert otp.node() == "plugin_test@127.0.0.1"
                assert otp_node.cookie == "plugin-cookie"
            """,
        )
        assert results["test_named"].outcome == "passed"

    @pytest.mark.parametrize(
        ("marker", "expected"),
        [
            ("otp(colck=True)", "unknown options colck; it takes clock, timeout, node, cookie"),
            ("otp(True)", "keyword options only"),
            ("otp(timeout=-1)", "timeout=...) is seconds > 0 or None; got -1"),
            ("otp(clock='yes')", "clock=...) is True, False or an otp.testing.VirtualClock"),
            ("otp(report_limit=5)", "report_limit must be a number of characters >= 80"),
        ],
    )
    def test_a_bad_marker_option_fails_the_test_saying_what_to_pass(
        self, pytester: pytest.Pytester, marker: str, expected: str
    ) -> None:
        results = run(
            pytester,
            f"""
            import pytest

            @pytest.mark.{marker}
            async def test_bad():
                pass
            """,
        )
        assert results["test_bad"].outcome == "failed"
        assert expected in results["test_bad"].text

    def test_the_fixtures_need_the_marker(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            def test_unmarked(otp_node):
                pass
            """,
        )
        assert results["test_unmarked"].outcome == "failed"
        assert "needs the test to be marked @pytest.mark.otp" in results["test_unmarked"].text


class TestClock:
    def test_a_60_second_timeout_ends_at_60_seconds_of_virtual_time(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import otp, pytest

            @pytest.mark.otp(clock=True)
            async def test_timeout(virtual_clock):
                with pytest.raises(TimeoutError):
                    await otp.receive(timeout=60)
                assert virtual_clock.time() == 60.0
                assert otp.testing.VirtualClock is type(virtual_clock)
            """,
        )
        assert results["test_timeout"].outcome == "passed"

    def test_asking_for_virtual_clock_implies_clock_true(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import asyncio, pytest

            @pytest.mark.otp
            async def test_implied(virtual_clock):
                await asyncio.sleep(3600)
                assert virtual_clock.time() == 3600.0
            """,
        )
        assert results["test_implied"].outcome == "passed"

    def test_a_clock_of_the_tests_own_is_used_as_given(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import asyncio, pytest
            from otp.testing import VirtualClock

            mine = VirtualClock()
            mine.advance(100)

            @pytest.mark.otp(clock=mine)
            async def test_given(virtual_clock):
                assert virtual_clock is mine
                await asyncio.sleep(1)
                assert mine.time() == 101.0
            """,
        )
        assert results["test_given"].outcome == "passed"

    def test_without_clock_the_node_runs_in_real_time(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import asyncio, pytest
            from otp.testing._clock import _VirtualLoop

            @pytest.mark.otp
            async def test_real():
                assert not isinstance(asyncio.get_running_loop(), _VirtualLoop)
            """,
        )
        assert results["test_real"].outcome == "passed"


class TestTimeout:
    def test_a_hung_test_fails_at_its_timeout_saying_where_it_waits(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import otp, pytest

            @pytest.mark.otp(clock=True, timeout=5)
            async def test_hangs(virtual_clock):
                await otp.receive()
            """,
        )
        hung = results["test_hangs"]
        assert hung.outcome == "failed"
        assert "did not finish within 5 s of virtual time" in hung.text
        assert "test_inner.py:5 in test_hangs\n    await otp.receive()" in hung.text

    def test_a_test_that_finishes_in_time_passes(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            """
            import asyncio, pytest

            @pytest.mark.otp(clock=True, timeout=5)
            async def test_quick(virtual_clock):
                await asyncio.sleep(4.5)
                assert virtual_clock.time() == 4.5
            """,
        )
        assert results["test_quick"].outcome == "passed"


CRASHING = """
import asyncio, otp, pytest
from otp.testing import assert_receive, capture_crashes, start_supervised, wait_idle

async def boom():
    raise ValueError("kaboom")

class Flaky(otp.GenServer):
    def init(self, arg):
        return arg
    def handle_call(self, request, from_, state):
        if request == "crash":
            raise RuntimeError("crashed on purpose")
        return otp.Reply(state, state)
"""


class TestCrashes:
    def test_a_crash_nobody_watches_fails_the_test_with_its_report(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            CRASHING
            + """
@pytest.mark.otp(clock=True)
async def test_unwatched():
    otp.spawn(boom)
    await wait_idle()
""",
        )
        failed = results["test_unwatched"]
        assert failed.outcome == "failed"
        assert "1 process crashed during the test with no process watching it" in failed.text
        assert "crashed: ValueError: kaboom" in failed.text
        assert 'raise ValueError("kaboom")' in failed.text  # the traceback

    def test_a_linked_crash_kills_the_test_process(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            CRASHING
            + """
@pytest.mark.otp(clock=True)
async def test_linked():
    otp.spawn_link(boom)
    await otp.receive()
""",
        )
        failed = results["test_linked"]
        assert failed.outcome == "failed"
        assert "killed by an exit signal, reason: ValueError('kaboom')" in failed.text
        assert 'raise ValueError("kaboom")' in failed.text

    def test_watched_crashes_and_captured_ones_pass(self, pytester: pytest.Pytester) -> None:
        results = run(
            pytester,
            CRASHING
            + """
@pytest.mark.otp(clock=True)
async def test_monitored():
    pid, ref = otp.spawn_monitor(boom)
    down = await assert_receive(otp.Down)
    assert (down.pid, type(down.reason)) == (pid, ValueError)

@pytest.mark.otp(clock=True)
async def test_trapping_link():
    otp.trap_exit(True)
    pid = otp.spawn_link(boom)
    exited = await assert_receive(otp.Exited)
    assert exited.pid == pid

@pytest.mark.otp(clock=True)
async def test_captured():
    with capture_crashes() as crashes:
        otp.spawn(boom)
        await wait_idle()
    assert [report.reason for report in crashes] == ["ValueError: kaboom"]

@pytest.mark.otp(clock=True)
async def test_a_supervised_child_crashed_on_purpose_is_restarted():
    first = await start_supervised(Flaky.child_spec("state", name="flaky"))
    with pytest.raises(otp.Exit):
        await otp.call(first, "crash")
    await wait_idle()
    assert otp.whereis("flaky") not in (None, first)
    assert await otp.call("flaky", "get") == "state"
""",
        )
        assert outcomes(results) == dict.fromkeys(
            [
                "test_monitored",
                "test_trapping_link",
                "test_captured",
                "test_a_supervised_child_crashed_on_purpose_is_restarted",
            ],
            "passed",
        )

    def test_a_failing_test_shows_its_own_error_and_the_crash(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            CRASHING
            + """
@pytest.mark.otp(clock=True)
async def test_both():
    otp.spawn(boom)
    await wait_idle()
    assert "mine" == "theirs"
""",
        )
        failed = results["test_both"]
        assert failed.outcome == "failed"
        assert "AssertionError" in failed.text
        assert "crashed: ValueError: kaboom" in failed.text


class TestStartSupervised:
    def test_children_stop_in_reverse_start_order_when_the_test_ends(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import otp, pytest
            from otp.testing import start_supervised

            stopped = []

            class Named(otp.GenServer):
                def init(self, name):
                    otp.trap_exit(True)
                    return name
                def terminate(self, reason, state):
                    stopped.append((state, reason))

            @pytest.mark.otp
            async def test_start_three():
                for name in "abc":
                    await start_supervised(otp.ChildSpec(name, lambda n=name: Named.start_link(n)))
                assert stopped == []

            def test_they_stopped_newest_first():
                assert stopped == [("c", "shutdown"), ("b", "shutdown"), ("a", "shutdown")]
            """,
        )
        assert outcomes(results) == {
            "test_start_three": "passed",
            "test_they_stopped_newest_first": "passed",
        }


class TestReceiveFailures:
    def test_assert_receive_failures_point_at_the_tests_line(
        self, pytester: pytest.Pytester
    ) -> None:
        results = run(
            pytester,
            """
            import otp, pytest
            from otp.testing import assert_receive, refute_receive

            @pytest.mark.otp(clock=True)
            async def test_nothing():
                otp.send(otp.self(), ("other", 1))
                await assert_receive("wanted", timeout=1)

            @pytest.mark.otp(clock=True)
            async def test_unwanted():
                otp.send(otp.self(), "unwanted")
                await refute_receive("unwanted")
            """,
        )
        nothing = results["test_nothing"].text
        assert "Assertion failed, no matching message after 1 s." in nothing
        assert "Showing 1 of 1 messages in the mailbox, oldest first:\nE         ('other', 1)" in (
            nothing
        )
        assert '>       await assert_receive("wanted", timeout=1)' in nothing
        unwanted = results["test_unwanted"].text
        assert "Refute failed: received a message matching 'unwanted'" in unwanted


class TestExample:
    def test_the_example_test_file_passes(self, pytester: pytest.Pytester) -> None:
        # Under another name: the file itself may be imported by this session.
        source = EXAMPLE.read_text("utf-8")
        results = run(pytester, source, name="test_copied_counter_example")
        assert len(results) == 6
        assert set(outcomes(results).values()) == {"passed"}
