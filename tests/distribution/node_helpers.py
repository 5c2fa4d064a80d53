"""Shared by the distribution tests: a second Python node, run in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator

GUARD = 30.0  # seconds: only ever reached when something hangs

#: The end of a child node's `async def main()`: say "ready", then serve until
#: the test closes the child's stdin (`python_node` waits for the line).
SERVE = """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    await reader.read()
"""


def unique_node(prefix: str) -> str:
    """A node name of its own for a test: `prefix` and a random part, on 127.0.0.1."""
    return f"{prefix}{uuid.uuid4().hex[:10]}@127.0.0.1"


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
