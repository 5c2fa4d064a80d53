"""How a supervisor runs its work: inside the callback, or in a Task once a start suspends."""

from __future__ import annotations

import asyncio

from supervision_helpers import PATIENCE, Worker, run, stop_with, wait_down

import otp
from otp.testing import wait_idle


class Gated(otp.GenServer):
    """Sends `("init", pid)` to `to`, then its async init waits for the next of `gates`."""

    async def init(self, arg: object) -> object:
        assert type(arg) is tuple
        to, gates = arg
        otp.send(to, ("init", otp.self()))
        await gates.pop(0)
        return arg


async def _inits(count: int) -> list[otp.Pid]:
    got = []
    for _ in range(count):
        msg = await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == "init")
        assert type(msg) is tuple and isinstance(msg[1], otp.Pid)
        got.append(msg[1])
    return got


async def _child(sup: otp.Pid) -> otp.Pid | None:
    [child] = await otp.Supervisor.which_children(sup)
    return child.pid


class TestRestarts:
    def test_a_restart_that_does_not_suspend_is_done_when_the_exit_is_handled(self) -> None:
        async def main() -> bool:
            sup = await otp.Supervisor.start_link([Worker.child_spec("w")])
            old = await _child(sup)
            await stop_with(old, "boom")
            await wait_idle()
            new = await _child(sup)
            return new is not None and new is not old and otp.is_alive(new)

        assert run(main) is True

    def test_a_restart_whose_start_suspends_finishes_before_the_next_request(self) -> None:
        async def main() -> tuple[bool, bool]:
            loop = asyncio.get_running_loop()
            started, gate = loop.create_future(), loop.create_future()
            started.set_result(None)
            gates = [started, gate]
            sup = await otp.Supervisor.start_link([Gated.child_spec((otp.self(), gates))])
            [old] = await _inits(1)
            await stop_with(old, "boom")
            [new] = await _inits(1)  # the restart is waiting for the new child's init
            request = asyncio.ensure_future(_child(sup))
            await wait_idle()
            queued = not request.done()
            gate.set_result(None)
            return queued, await request is new

        assert run(main) == (True, True)

    def test_a_supervisor_killed_while_a_start_suspends_takes_the_child_down(self) -> None:
        async def main() -> object:
            loop = asyncio.get_running_loop()
            started = loop.create_future()
            started.set_result(None)
            gates = [started, loop.create_future()]
            sup = await otp.Supervisor.start_link([Gated.child_spec((otp.self(), gates))])
            otp.unlink(sup)
            [old] = await _inits(1)
            await stop_with(old, "boom")
            [new] = await _inits(1)
            ref = otp.monitor(new)
            otp.exit(sup, "kill")
            return await wait_down(ref)

        assert run(main) == "killed"


class TestCalls:
    def test_start_child_of_a_child_whose_init_suspends_replies_once_it_started(self) -> None:
        async def main() -> bool:
            loop = asyncio.get_running_loop()
            gate = loop.create_future()
            sup = await otp.Supervisor.start_link([])
            spec = Gated.child_spec((otp.self(), [gate]), id="g")
            request = asyncio.ensure_future(otp.Supervisor.start_child(sup, spec))
            [pid] = await _inits(1)
            await wait_idle()
            waiting = not request.done()
            gate.set_result(None)
            return waiting and await request is pid

        assert run(main) is True


class TestStartFunctionsOfYourOwn:
    def test_a_timeout_in_a_start_function_of_your_own_fires_on_a_restart(self) -> None:
        # The restart runs inside the supervisor's handling of the exit; a
        # start function of the user's must still get a Task of its own, or
        # `asyncio.timeout` binds to the wrong task and never fires.
        async def main() -> list[object]:
            me = otp.self()
            loop = asyncio.get_running_loop()
            starts = 0

            async def start() -> otp.Pid | None:
                nonlocal starts
                starts += 1
                if starts > 1:
                    try:
                        async with asyncio.timeout(0):
                            await loop.create_future()  # never set
                    except TimeoutError:
                        otp.send(me, ("timed out", asyncio.current_task() is not None))
                return await Worker.start_link("w")

            sup = await otp.Supervisor.start_link([otp.ChildSpec(id="w", start=start)])
            await stop_with(await _child(sup), "boom")
            got = await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == "timed out")
            await wait_idle()
            new = await _child(sup)
            return [got, new is not None and otp.is_alive(new)]

        assert run(main) == [("timed out", True), True]
