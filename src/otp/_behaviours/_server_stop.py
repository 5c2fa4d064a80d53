"""How a server stops: `terminate`, the crash report, and the calls it leaves unanswered.

A server stops when a callback returns `Stop`, raises, or returns a bad
value, on `otp.stop`, and on an exit signal from its parent while it traps
exits: `terminate(reason, state)` runs (awaited if `async def`), an
abnormal reason is reported once, and then the process dies. Calls it
deferred (`NoReply`) or that still wait in its mailbox fail with the exit
reason; a `Stop(..., reply=)` is answered once terminate has run.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections import deque
from typing import Any

from .._errors import Exit
from .._runtime._process import Process, fail_pending_calls, is_normal_exit
from .._runtime._steps import drive
from ._server_messages import From
from ._server_reports import ServerReports, exception_of

CoroutineType = types.CoroutineType


class ServerStop(ServerReports):
    """The stopping of a server: the base of `ServerProcess`, which holds these fields."""

    __slots__ = ("busy", "deferred", "starting", "timer")

    busy: bool
    deferred: set[From] | None
    starting: bool
    timer: asyncio.TimerHandle | None

    def own_ctx(self) -> contextvars.Context:  # pragma: no cover - ServerProcess's
        """The server's own context (see `ServerProcess.own_ctx`)."""
        raise NotImplementedError

    def defer(self, from_: From) -> None:
        """Keep an unanswered call: it fails with the server's exit reason."""
        if not from_.done:
            if self.deferred is None:
                self.deferred = set()
            self.deferred.add(from_)

    def stop_server(
        self,
        reason: object,
        state: object,
        exc: BaseException | None = None,
        answer: tuple[From, object] | None = None,
    ) -> None:
        """Run `terminate(reason, state)`, log an abnormal reason, then die.

        `exc` is the exception that made the server stop, for the report's
        traceback when `reason` is not itself an exception (`raise otp.Exit(r)`).
        `answer` is a `(from_, reply)` from `Stop(..., reply=)`, sent once
        terminate has run.
        """
        self.state = state
        try:
            r = self.impl.terminate(reason, state)
            if type(r) is CoroutineType:
                self.busy = True
                self.task = self.rt.loop.create_task(
                    drive(
                        self.finish_terminate(r, reason, exc, answer),
                        self,
                        ("$terminate", reason),
                        pending=r,
                    ),
                    context=self.own_ctx(),
                )
                return
        except Exception as error:
            self.report_crash(error, error)
            self.end(error, error, answer, report=False)
            return
        self.end(reason, exc, answer)

    async def finish_terminate(
        self,
        coro: Any,
        reason: object,
        exc: BaseException | None,
        answer: tuple[From, object] | None,
    ) -> None:
        try:
            await coro
        except Exception as error:
            reason = exc = error
        finally:
            self.task = None
        self.end(reason, exc, answer)

    def end(
        self,
        reason: object,
        exc: BaseException | None,
        answer: tuple[From, object] | None = None,
        report: bool = True,
    ) -> None:
        try:
            if report and not is_normal_exit(reason):
                self.report_crash(reason, exc if exc is not None else exception_of(reason))
        finally:
            # Whatever happened while reporting, the server dies and its
            # links, monitors and supervisor learn of it.
            if answer is not None:
                answer[0].reply(answer[1])
            self.die(reason)

    def crash(self, exc: BaseException) -> None:
        """A callback raised: terminate runs with the exception as the reason."""
        if isinstance(exc, Exit):
            self.stop_server(exc.reason, self.state, exc)
        else:
            self.stop_server(exc, self.state, exc)

    def on_death(self, reason: object, mailbox: deque[object] | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.starting:
            # Died before start_link returned: the starter gets a StartError,
            # not also an exit signal through the link.
            parent = self.parent
            if isinstance(parent, Process) and self.links and parent in self.links:
                self.links.discard(parent)
                parent.remove_link(self)
        if mailbox:
            fail_pending_calls(mailbox, reason)
        deferred = self.deferred
        if deferred:
            self.deferred = None
            for from_ in list(deferred):
                from_.fail(reason)


__all__ = ["ServerStop"]
