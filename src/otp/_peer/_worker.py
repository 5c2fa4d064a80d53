"""The worker: `python -m otp._peer._worker`, an otp node serving the node that started it.

In order: read the config from stdin (`_setup.read_config`), send log
records to the starter (`_logs.forward_logs`), take the starter's
`sys.path` and main module (`_main_module`), then run an otp node with
the starter's distribution options. Its first process connects to the
starter, tells the control process it is ready, and waits for the
starter's "stop" line; when it returns, `otp.run` shuts the node down
gracefully and the program exits.

The worker never outlives its starter. Its stdin is a pipe from the
starter, so it ends when the starter's process does, however it died
(SIGKILL included): at the end of stdin, or when the connection to the
starter's node is lost (`monitor_node`), the worker halts at once with
`os._exit`, as Erlang's peer does, without waiting for a shutdown that
nobody would see.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Final

import otp

from .._runtime._ids import _new_remote_pid
from ._logs import forward_logs
from ._main_module import load_main
from ._setup import READY, WorkerConfig, read_config

#: The exit status of a worker that lost its starter.
LOST_STARTER: Final = 70


def halt(why: str) -> None:
    """End the program now: no shutdown, no cleanup (Erlang's `halt`)."""
    try:
        sys.stderr.write(f"halting: {why}\n")
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(LOST_STARTER)


class _Stdin(asyncio.Protocol):
    """The starter's end of the pipe: a "stop" line sets `stopping`; its end halts."""

    def __init__(self, stopping: asyncio.Event) -> None:
        self.stopping = stopping
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"stop\n" in self.buffer:
            self.stopping.set()

    def eof_received(self) -> bool:
        halt("the starter closed its pipe (it exited)")
        return False  # pragma: no cover - halt does not return

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopping.is_set():
            halt("the starter's pipe broke")


async def _watch_starter(starter: str) -> None:
    """Halt when the connection to the starter's node ends."""
    otp.monitor_node(starter)
    await otp.receive(match=lambda msg: msg == otp.NodeDown(starter))
    halt(f"lost the connection to the starter node {starter!r}")


async def serve(config: WorkerConfig) -> None:
    """The worker's first process: connect, say ready, serve until asked to stop."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: _Stdin(stopping), sys.stdin)
    starter = str(config["starter"])
    if not await otp.connect(starter):
        print(f"cannot connect to the starter node {starter!r}", file=sys.stderr)
        raise SystemExit(1)
    otp.spawn(_watch_starter, starter)
    assert config["control"] is not None
    control = _new_remote_pid(*config["control"])
    otp.send(control, (READY, config["token"], os.getpid()))
    await stopping.wait()


def main() -> None:
    try:
        config = read_config()
    except EOFError:
        halt("the starter exited before sending the config")
    forward_logs(config["log_levels"])
    sys.path[:] = config["sys_path"]
    this = sys.modules["__main__"]  # kept alive: its globals run this function
    load_main(config["main"])
    otp.run(
        serve,
        config,
        node=config["name"],
        cookie=config["cookie"],
        hidden=config["hidden"],
        net_ticktime=config["net_ticktime"],
        bind=config["bind"],
        tls=config["tls"],
        pickle=config["pickle"],
        rpc=config["rpc"],
    )
    del this


if __name__ == "__main__":
    main()
