"""Functions that other nodes run here in the spawn and erpc tests (imported by name)."""

from __future__ import annotations

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

    def handle_call(self, request: object, from_: otp.From, state: object) -> object:
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

    def handle_continue(self, arg: object, state: object) -> object:
        raise RuntimeError("crashed at once")
