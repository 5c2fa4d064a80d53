"""What a server sent leaves after a message that held the loop (`Distribution.flush_writes`).

Frames of one loop step leave in one write; a server that computes for
milliseconds per message must not hold what one message sent (a reply, a
message) until it has handled the next ones too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import spawn_targets
from erlang_nodes import GUARD
from test_remote_task import with_nodes

import otp


def unblock(fifo: str) -> None:
    with open(fifo, "wb") as pipe:
        pipe.write(b"!")


async def unblocker(fifo: str) -> None:
    """Writes the pipe once the server's "worked" came: the call then returns."""
    await otp.receive(match=lambda m: m == "worked")
    unblock(fifo)


class TestFlushWrites:
    def test_what_a_slow_message_sent_leaves_before_the_next_message_is_done(
        self, tmp_path: Path
    ) -> None:
        fifo = str(tmp_path / "go")
        os.mkfifo(fifo)

        async def main(_: Any, other: str) -> object:
            server = await spawn_targets.Blocker.start(None, node=other)
            assert server is not None
            helper = otp.spawn(unblocker, fifo)
            # The cast and the call leave in one write: the server finds both
            # in its mailbox, and handles them in one batch. The call holds
            # the other node's loop until the pipe is written, which happens
            # only once the cast's "worked" came: it must have left before.
            otp.cast(server, ("work", helper))
            try:
                return await otp.call(server, ("block", fifo), timeout=GUARD)
            except otp.CallTimeout:
                unblock(fifo)  # free the other node
                raise

        assert with_nodes(main) == "unblocked"
