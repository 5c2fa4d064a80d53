"""Functions that other nodes run here in the spawn and erpc tests (imported by name)."""

from __future__ import annotations

import time
from typing import Any

import otp


def add(a: int, b: int) -> int:
    return a + b


async def add_later(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def throw(value: object) -> None:
    raise otp.RemoteThrow(value)


def leave(reason: object) -> None:
    raise otp.Exit(reason)


def whoami() -> str:
    return otp.node()


async def report(to: otp.Pid, what: object) -> None:
    otp.send(to, (otp.Atom("report"), what, otp.self()))


async def wait_forever() -> None:
    await otp.receive()


async def wait_then_crash() -> None:
    await otp.receive()
    raise RuntimeError("told to crash")


class Counter(otp.GenServer):
    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if request == "node":
            return otp.Reply(otp.node(), state)
        return otp.Reply(state, state)


class Refuses(otp.GenServer):
    def init(self, arg: object) -> object:
        return otp.Stop(arg)


def unsendable() -> object:
    """A result with no Erlang form that cannot be pickled either."""
    return lambda: None


class Traps(otp.GenServer):
    """Traps exits; its terminate sends `("terminated", reason)` to the pid it started with."""

    def init(self, arg: object) -> object:
        otp.trap_exit(True)
        return arg

    def terminate(self, reason: object, state: object) -> object:
        assert isinstance(state, otp.Pid)
        otp.send(state, ("terminated", reason))
        return None


class CrashesAtOnce(otp.GenServer):
    """Starts, then crashes in its first callback, before any message."""

    def init(self, arg: object) -> object:
        return otp.Ok(arg, continue_="crash")

    def handle_continue(self, arg: object, state: object) -> Any:
        raise RuntimeError("crashed at once")


def whoami_of(item: object) -> tuple[object, str]:
    return item, otp.node()


class Shard(otp.GenServer):
    """A partition that says where it runs: `call(..., "where")` -> (partition, node)."""

    def init(self, partition: object) -> object:
        return partition

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply((state, otp.node()), state)


async def wait_forever_on(item: object) -> None:
    await otp.receive()


def fail_on(item: object) -> object:
    if item == "bad":
        raise ValueError(item)
    return item


async def report_and_wait(to: object, item: object) -> None:
    otp.send(to, ("running", item))
    await otp.receive()


class Stubborn(otp.GenServer):
    """Traps exits and never stops on its own: its supervisor must kill it."""

    async def init(self, arg: object) -> object:
        otp.trap_exit(True)
        return arg

    async def terminate(self, reason: object, state: object) -> None:
        await otp.receive()


class Blocker(otp.GenServer):
    """`("work", to)` computes for 2 ms, then tells `to`; call `("block", fifo)` blocks the loop.

    The call reads one byte from the named pipe `fifo`, holding the whole
    node until someone writes it: what the cast sent before must already
    have left.
    """

    def handle_cast(self, request: object, state: object) -> Any:
        match request:
            case ("work", to):
                until = time.perf_counter() + 0.002
                while time.perf_counter() < until:
                    pass
                otp.send(to, "worked")
        return otp.NoReply(state)

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        match request:
            case ("block", str() as fifo):
                with open(fifo, "rb") as pipe:
                    pipe.read(1)
        return otp.Reply("unblocked", state)
