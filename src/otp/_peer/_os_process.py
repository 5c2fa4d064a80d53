"""The worker's OS process, as its control process sees it: start, watch, stop, kill.

Its stdin, stdout and stderr are pipes. `done` is a task that ends once
the process has exited and its output has been read to the end (or for
at most `DRAIN` seconds more, should a process it started hold the pipes
open), so that every line it wrote is logged before anyone hears that it
is gone. The exit is seen by the protocol's `process_exited`, which does
not wait for the pipes to close, unlike `asyncio.subprocess.Process.wait`.

A worker runs in a session of its own: a Ctrl-C in the starter's
terminal goes to the starter, which stops its peers itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Final

from ._logs import LINE_LIMIT, Output
from ._setup import Setup, WorkerConfig, encode_config

#: Seconds to read what a worker wrote once it has exited.
DRAIN: Final = 2.0


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's protocol for a process with streams, plus a future of its exit."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=LINE_LIMIT, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class WorkerProcess:
    """One worker's OS process (see the module docstring)."""

    def __init__(
        self, transport: asyncio.SubprocessTransport, protocol: _Protocol, output: Output
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self.output = output
        self.os_pid = transport.get_pid()
        self.done: asyncio.Task[int | None] = asyncio.get_running_loop().create_task(self._watch())

    @classmethod
    async def launch(cls, setup: Setup, config: WorkerConfig, output: Output) -> WorkerProcess:
        """Start the worker and write its config to its stdin.

        Raises:
            OSError: the interpreter could not be started.
        """
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop),
            *setup.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=setup.env,
            cwd=os.getcwd(),
            start_new_session=True,
        )
        worker = cls(transport, protocol, output)
        worker.write(encode_config(config))
        return worker

    def __repr__(self) -> str:
        return f"<WorkerProcess {self.os_pid} returncode={self.returncode}>"

    @property
    def returncode(self) -> int | None:
        return self.transport.get_returncode()

    async def _watch(self) -> int | None:
        stdout, stderr = self.protocol.stdout, self.protocol.stderr
        assert stdout is not None and stderr is not None
        readers = [
            asyncio.ensure_future(self.output.read(stdout, logging.INFO)),
            asyncio.ensure_future(self.output.read(stderr, logging.WARNING)),
        ]
        try:
            await self.protocol.exited
            await asyncio.wait(readers, timeout=DRAIN)
        finally:
            for reader in readers:
                reader.cancel()
        return self.returncode

    def write(self, data: bytes) -> None:
        """Write to the worker's stdin; nothing if the worker is gone."""
        stdin = self.transport.get_pipe_transport(0)
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(OSError):
                stdin.write(data)  # type: ignore[attr-defined]

    def kill(self) -> None:
        """SIGKILL the worker, unless it has exited."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.transport.kill()

    async def stop(self, grace: float) -> None:
        """Ask the worker to stop (its "stop" line), wait `grace` seconds, then kill it.

        Returns once it has exited and its output has been read.
        """
        self.write(b"stop\n")
        await asyncio.wait([self.done], timeout=grace)
        if not self.done.done():
            self.kill()
            await asyncio.shield(self.done)

    def close(self) -> None:
        """Kill the worker if it still runs, and let go of its pipes (cannot fail)."""
        self.kill()
        self.done.cancel()
        self.transport.close()


__all__ = ["DRAIN", "WorkerProcess"]
