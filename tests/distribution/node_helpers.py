"""Shared by the distribution tests: a second Python node, run in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

GUARD = 30.0  # seconds: only ever reached when something hangs


@contextlib.asynccontextmanager
async def python_node(program: str, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `program` (it starts an otp node, then prints "ready") with `args`.

    Waits for the ready line, yields the subprocess (its stdin and stdout
    are pipes), and kills it on the way out whatever happens.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        program,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(GUARD):
            assert await proc.stdout.readline() == b"ready\n"
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
