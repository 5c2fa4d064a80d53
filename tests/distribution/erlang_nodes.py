"""Shared by the interop tests: real Erlang and Elixir nodes, run as subprocesses.

Each test runs a Python node and an `erl` (or `elixir`) node with names of
its own (`unique`), so tests never collide on epmd. The Erlang side runs a
scenario and prints one line per observation; the test waits for those
lines (`Peer.expect`, with a generous bound that only guards against
hangs) and kills the subprocess whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence

import otp

COOKIE = "interop-cookie"
GUARD = 30.0  # seconds: only ever reached when something hangs


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Peer:
    """An Erlang or Elixir subprocess whose output lines the test reads."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.seen: list[str] = []

    async def expect(self, prefix: str) -> str:
        """The next output line that starts with `prefix` (earlier lines are kept in `seen`)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(GUARD):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(
                        f"{self.name} exited before printing {prefix!r}; output: {self.seen}"
                    )
                line = raw.decode().rstrip("\n")
                self.seen.append(line)
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


@contextlib.asynccontextmanager
async def erlang(
    name: str,
    code: str,
    *,
    elixir: bool = False,
    cookie: str | None = COOKIE,
    short: bool = False,
    erl_flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Peer]:
    """Run `code` on a new Erlang (or Elixir) node called `name`; kill it on the way out.

    `cookie=None` gives no cookie flag (the node reads `$HOME/.erlang.cookie`);
    `erl_flags` are extra flags of `erl` (for Elixir, passed with `--erl`);
    `env` is added to the node's environment.
    """
    if elixir:
        args = ["elixir", "--sname" if short else "--name", name]
        args += ["--cookie", cookie] if cookie is not None else []
        args += ["--erl", " ".join(erl_flags)] if erl_flags else []
        args += ["-e", code]
    else:
        args = ["erl", "-sname" if short else "-name", name]
        args += ["-setcookie", cookie] if cookie is not None else []
        args += [*erl_flags, "-noshell", "-eval", code]
    proc = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, **env} if env is not None else None,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    peer = Peer(proc, name)
    try:
        yield peer
    finally:
        await peer.kill()


def erl(code: str, **names: str) -> str:
    """Erlang source with `$NAME` placeholders filled in (atoms quoted)."""
    for key, value in names.items():
        code = code.replace(f"${key}", f"'{value}'")
    return code


def run_node(main: object, name: str) -> object:
    return otp.run(main, node=name, cookie=COOKIE)  # type: ignore[arg-type]
