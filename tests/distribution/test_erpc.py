"""otp.erpc: erpc's wire protocol over the scripted transport, and between Python nodes."""

from __future__ import annotations

from typing import Any

import pytest
import spawn_targets
from erlang_nodes import COOKIE, unique
from node_helpers import python_node
from test_connection import PEER, frame, open_connection, remote_pid
from test_spawn import OTHER, of_op, two_nodes

import otp
from otp import Atom
from otp.distribution._erpc import decode_outcome
from otp.testing import VirtualClock, wait_idle

RES = object()


def raised(reason: object) -> otp.Exit:
    with pytest.raises(otp.Exit) as caught:
        decode_outcome(reason, RES, PEER, "m", "f")
    return caught.value


class TestOutcomes:
    def test_return_is_the_value(self) -> None:
        assert decode_outcome((RES, Atom("return"), 42), RES, PEER, "m", "f") == 42

    def test_throw_raises_remote_throw(self) -> None:
        exc = raised((RES, Atom("throw"), "x"))
        assert type(exc) is otp.RemoteThrow and exc.reason == "x" and exc.node == PEER

    def test_exit_raises_remote_exit(self) -> None:
        exc = raised((RES, Atom("exit"), "why"))
        assert type(exc) is otp.RemoteExit and exc.reason == "why" and not exc.signal

    def test_error_raises_remote_error_with_the_stack(self) -> None:
        stack: list[object] = [(Atom("m"), Atom("f"), 0, [])]
        exc = raised((RES, Atom("error"), Atom("badarg"), stack))
        assert type(exc) is otp.RemoteError and exc.reason == "badarg" and exc.stack == stack

    def test_a_python_error_reads_as_python(self) -> None:
        exc = raised((RES, Atom("error"), (Atom("python"), "ValueError", "bad"), []))
        assert str(exc).startswith("ValueError: bad")

    def test_noconnection_raises_no_connection(self) -> None:
        assert type(raised(Atom("noconnection"))) is otp.NoConnection

    def test_another_reason_is_an_exit_signal(self) -> None:
        exc = raised(Atom("killed"))
        assert type(exc) is otp.RemoteExit and exc.signal and exc.reason == "killed"


def request_of(wire: Any) -> tuple[Any, Any]:
    [(control, args)] = of_op(wire.packets(), 29)
    return control, args


class TestCallOverTheWire:
    def test_the_request_is_execute_call_with_a_monitor(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, ...]:
            conn, reader, wire = open_connection()
            otp.spawn(_call, otp.self(), PEER, "lists", "reverse", [[1, 2]])
            await wait_idle()
            control, args = request_of(wire)
            reader.feed_data(frame((31, control[1], control[2], 2, remote_pid(9))))
            reader.feed_data(
                frame(
                    (28, remote_pid(9), control[2], control[1]), (args[0], Atom("return"), [2, 1])
                )
            )
            result = await otp.receive()
            conn.close()
            return control[4], control[5], args[1:], result

        target, opts, args, result = clock.run(main)
        assert target == (Atom("erpc"), Atom("execute_call"), 4) and opts == [Atom("monitor")]
        assert args == [Atom("lists"), Atom("reverse"), [[1, 2]]]
        assert result == ("ok", [2, 1])

    def test_a_timeout_raises_call_timeout_and_drops_the_monitor(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, list[tuple[Any, ...]]]:
            conn, reader, wire = open_connection()
            otp.spawn(_call, otp.self(), PEER, "timer", "sleep", [10_000], 1.0)
            await wait_idle()
            control, _ = request_of(wire)
            reader.feed_data(frame((31, control[1], control[2], 2, remote_pid(9))))
            result = await otp.receive()
            demonitors = of_op(wire.packets(), 20)
            conn.close()
            return result, demonitors

        result, [(demonitor,)] = clock.run(main)
        assert result == ("raised", "CallTimeout") and clock.time() == 1.0
        assert demonitor[3] is not None

    def test_a_spawn_error_raises_spawn_error(self, clock: VirtualClock) -> None:
        async def main() -> object:
            conn, reader, wire = open_connection()
            otp.spawn(_call, otp.self(), PEER, "m", "f", [])
            await wait_idle()
            control, _ = request_of(wire)
            reader.feed_data(frame((31, control[1], control[2], 0, Atom("notsup"))))
            result = await otp.receive()
            conn.close()
            return result

        assert clock.run(main) == ("raised", "SpawnError")

    def test_a_lost_connection_during_the_call_raises_no_connection(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            conn, reader, wire = open_connection()
            otp.spawn(_call, otp.self(), PEER, "timer", "sleep", [10_000], None)
            await wait_idle()
            control, _ = request_of(wire)
            reader.feed_data(frame((31, control[1], control[2], 2, remote_pid(9))))
            await wait_idle()
            conn.close()
            return await otp.receive()

        assert clock.run(main) == ("raised", "NoConnection")

    def test_cast_sends_execute_cast_and_waits_for_nothing(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, object]:
            conn, _, wire = open_connection()
            otp.erpc.cast(PEER, "io", "format", ["hi"])
            control, args = request_of(wire)
            conn.close()
            return control[4], args

        target, args = clock.run(main)
        assert target == (Atom("erpc"), Atom("execute_cast"), 3)
        assert args == [Atom("io"), Atom("format"), ["hi"]]


async def _call(
    parent: otp.Pid,
    node: str,
    module: str,
    function: str,
    args: list[object],
    timeout: float | None = 5.0,
) -> None:
    """Call, then send the outcome to `parent`."""
    try:
        result: object = ("ok", await otp.erpc.call(node, module, function, args, timeout=timeout))
    except otp.Exit as exc:
        result = ("raised", type(exc).__name__)
    otp.send(parent, result)


class TestCallThisNode:
    def test_a_call_to_this_node_runs_here(self) -> None:
        async def main() -> object:
            return await otp.erpc.call(otp.node(), spawn_targets.add, [1, 2])

        assert otp.run(main, node="erpc_here@127.0.0.1", cookie=COOKIE) == 3


class TestBetweenPythonNodes:
    def test_each_outcome_arrives_as_its_exception(self) -> None:
        async def main(other: str) -> list[object]:
            seen: list[object] = [
                await otp.erpc.call(other, "spawn_targets", "add", [1, 2]),
                await otp.erpc.call(other, spawn_targets.add_later, [1, 2]),
                await otp.erpc.call(other, spawn_targets.whoami) == other,
            ]
            for fn, args in [
                (spawn_targets.fail, ["bad"]),
                (spawn_targets.throw, ["x"]),
                (spawn_targets.leave, ["why"]),
            ]:
                with pytest.raises(otp.RemoteException) as failed:
                    await otp.erpc.call(other, fn, args)
                seen.append((type(failed.value).__name__, failed.value.reason))
            with pytest.raises(otp.RemoteError) as undef:
                await otp.erpc.call(other, "no_such_module", "f", [])
            seen.append(undef.value.reason)
            return seen

        assert two_nodes(main) == [
            3,
            3,
            True,
            ("RemoteError", ("python", "ValueError", "bad")),
            ("RemoteThrow", "x"),
            ("RemoteExit", "why"),
            "undef",
        ]

    def test_killing_the_other_node_during_a_call_raises_no_connection(self) -> None:
        other = unique("other") + "@127.0.0.1"

        async def run() -> object:
            async with python_node(OTHER, other, COOKIE, "*") as proc:
                await otp.connect(other)

                async def kill_soon() -> None:
                    proc.kill()

                call = otp.erpc.call(other, spawn_targets.wait_forever, timeout=None)
                otp.spawn(kill_soon)
                with pytest.raises(otp.NoConnection):
                    await call
                return True

        assert otp.run(run, node=unique("py") + "@127.0.0.1", cookie=COOKIE) is True
