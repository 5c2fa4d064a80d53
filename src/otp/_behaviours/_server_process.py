"""The engine of GenServer: a process driven by a dispatcher, not a Task.

An idle server is only data: no Task, no coroutine frame. When its mailbox
goes from empty to non-empty, `enqueue` schedules `run` with
`loop.call_soon`; `run` handles up to `node.batch` messages (the BEAM's
reductions) and, if more are waiting, schedules itself again so other
processes get the loop in between.

Only an `async def` callback needs a coroutine: its result is awaited in a
Task created for that one message, and the server is *busy* (new messages
queue up) until it finishes.

`call` can skip the loop altogether (see `_inline_calls.py`): a call to an
idle server whose `handle_call` is a plain function runs inside the caller's
own step, under the server's identity; a call to a server whose batch is due
runs that batch (`batch(until=the call)`) in the caller's step.

The stopping of a server is in `_server_stop.py`, its reports in
`_server_reports.py`: both are base classes of `ServerProcess`.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import sys
import time
import types
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._runtime import _long_mailbox
from .._runtime._call_timeouts import check_timeout
from .._runtime._messages import Exited
from .._runtime._process import awaited_chain, qualified_name
from .._runtime._repr import show
from .._runtime._scheduler import current_process, enter_task, leave_task
from .._runtime._steps import drive
from .._runtime._telemetry import Span
from ._hibernate import hibernate
from ._results import MISSING, NoReply, Reply, Stop
from ._server_messages import GEN_CAST, From, System, server_message_kind
from ._server_stop import ServerStop
from ._server_telemetry import timed_call, timed_cast
from ._system import SYSTEM_HANDLERS

if TYPE_CHECKING:
    from .._runtime._node import Node
    from ._gen_server import GenServer

logger = logging.getLogger("otp")
perf = time.perf_counter
CoroutineType = types.CoroutineType


#: Seconds a message may hold the loop before the frames it sent to other
#: nodes are written at once rather than at the end of the loop step.
HELD_WRITES = 0.001


class ServerProcess(ServerStop):
    """A process whose behaviour is a `GenServer` implementation."""

    __slots__ = (
        "base",
        "cont",
        "ctx",
        "idle",
        "scheduled",
        "suspended",
    )

    impl: GenServer
    state: object
    ctx: contextvars.Context | None  # its own context, made on first use (see own_ctx)
    base: contextvars.Context | None  # the starter's context, copied at start
    scheduled: bool
    busy: bool
    cont: object
    timer: asyncio.TimerHandle | None
    idle: float | None  # the `timeout=` the timer was armed with (see `rearm`)
    deferred: set[From] | None
    last: object
    suspended: bool
    starting: bool

    def __init__(self, node: Node, impl: GenServer) -> None:
        super().__init__(node)
        self.impl = impl
        self.state = None
        self.scheduled = False
        self.busy = True  # until init has returned
        self.cont = MISSING
        self.timer = None
        self.idle = None
        self.deferred = None
        self.last = None
        self.suspended = False
        self.starting = True  # until start_link has returned
        # The server's own context: a copy of its starter's, as a Task gets.
        # Every callback runs in it (the loop enters it for `run`; the
        # inline call path and async callbacks enter it explicitly), so
        # what one callback sets the next one sees, and no one else does.
        # It is made when first needed (`own_ctx`) from `base`, the
        # starter's context as it was at the start, which servers started
        # from an unchanged context share (`Node.context_snapshot`): a
        # million idle servers hold no context of their own.
        self.ctx = None
        self.base = node.context_snapshot()

    @property
    def behaviour(self) -> str:  # type: ignore[override]
        cls = type(self.impl)
        return cls._otp_label or cls.__name__

    def status(self) -> str:
        if self.alive and self.suspended:
            return "suspended"
        if self.alive and not self.busy and not self.scheduled and not self.mailbox:
            return "waiting"
        return super().status()

    def initial_call(self) -> str | None:
        """The GenServer class (`module.Class`), as Erlang names the module."""
        return qualified_name(type(self.impl))

    def current_function(self) -> str | None:
        """The async callback in progress (`module.Class.handle_call`), else None."""
        chain = awaited_chain(self.task) if self.busy else []
        for outer, inner in itertools.pairwise(chain):
            if getattr(outer, "__name__", None) == "finish_async":
                return qualified_name(inner)
        return qualified_name(chain[0]) if chain else None

    def memory(self) -> int:
        """The record, its mailbox and the state object itself (an estimate)."""
        return super().memory() + sys.getsizeof(self.state)

    def message_kind(self, msg: object) -> str:
        return server_message_kind(msg)

    def own_ctx(self) -> contextvars.Context:
        """The server's own context, made on first use: the starter's, with the server current."""
        ctx = self.ctx
        if ctx is None:
            assert self.base is not None
            ctx = self.ctx = self.base.copy()
            self.base = None
            ctx.run(current_process.set, self)
        return ctx

    # -- scheduling -----------------------------------------------------------

    def enqueue(self, msg: object) -> None:
        if not self.alive:
            return
        mb = self.mailbox
        if mb is None:
            mb = self.mailbox = deque()
        mb.append(msg)
        if len(mb) >= self.warn_at:
            _long_mailbox.check(self, len(mb))
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            if type(msg) is not System:
                self.idle = None  # a message came: the timeout is over
        if not self.scheduled and not self.busy:
            self.scheduled = True
            ctx = self.ctx
            self.rt.call_soon(self.run, context=ctx if ctx is not None else self.own_ctx())

    def wake(self) -> None:
        """After a busy spell: schedule `run` if anything is waiting."""
        if self.alive and not self.busy and not self.scheduled:
            if self.mailbox or self.cont is not MISSING:
                self.scheduled = True
                self.rt.call_soon(self.run, context=self.own_ctx())

    def run(self) -> None:
        """Handle a batch of messages (scheduled with `loop.call_soon`)."""
        self.scheduled = False
        if self.busy or not self.alive:
            return
        mb = self.mailbox
        if mb is not None and len(mb) >= self.warn_at:
            # Casts and calls queued by the fast paths of `_gen_server_client.py`
            # while this run was due: checked once here, not on each append.
            _long_mailbox.check(self, len(mb))
        if self.suspended:
            self.run_suspended()
            return
        if not self.mailbox and self.cont is MISSING:
            return  # a caller ran the batch in its own step (see `_inline_calls.py`)
        self.run_batch()

    def serve_now(self, msg: object) -> None:
        """Queue `msg` and handle the mailbox in this step, not in a later one.

        For a call from another node: the transport's callback that read
        its frame runs the server's batch, so the reply leaves in that
        callback's write instead of a loop turn later (the order of the
        mailbox is kept: what waited before the call is handled first).
        Only outside any process and task; a busy or suspended server, or
        one called from inside a task, gets `msg` queued as usual.
        """
        if self.busy or self.suspended or not self.alive or asyncio.current_task() is not None:
            self.enqueue(msg)
            return
        self.put(msg)
        # A run already scheduled finds the mailbox empty and returns.
        self.own_ctx().run(self.run_batch)

    def put(self, msg: object) -> None:
        """`enqueue`'s work without scheduling `run`: for who runs the batch itself."""
        mb = self.mailbox
        if mb is None:
            mb = self.mailbox = deque()
        mb.append(msg)
        if len(mb) >= self.warn_at:
            _long_mailbox.check(self, len(mb))
        if self.timer is not None:  # a message ends a `timeout=`
            self.timer.cancel()
            self.timer = None
            self.idle = None

    def run_batch(self) -> None:
        """A batch, as the server: its task current, then its exit or next wake-up."""
        # The loop runs `run` in the server's context (`call_soon(...,
        # context=self.ctx)`); sync callbacks also see a current task, as
        # they would in a Task of their own (`asyncio.current_task()`).
        node = self.rt
        enter_task(node.loop, node.callback_task)
        try:
            self.batch(MISSING)
        finally:
            leave_task(node.loop, node.callback_task)
        if self.kill_reason is not None and self.alive:
            self.die(self.kill_reason)
        self.wake()

    def batch(self, until: object) -> None:
        """Handle up to `node.batch` messages in mailbox order, in the server's context.

        `until` is a call that its caller runs the batch for, in its own
        step (see `_inline_calls.py`): the batch ends once it is handled,
        and slow callbacks are reported as nested in the caller's step.
        `run` passes MISSING, which is no message.
        """
        # One clock reading per message: the end of a message is the start
        # of the next, so a callback that held the loop too long is found
        # without reading the clock twice around each callback.
        node = self.rt
        slow = node.slow_callback
        flush_writes = node.flush_writes
        timed = slow is not None or flush_writes is not None
        t0 = perf() if timed else 0.0
        # Casts, the bulk of a busy server's traffic, skip `handle` and
        # `dispatch` (two calls) when nothing hooks them (`otp.sys` debugging
        # swaps in a subclass that does; telemetry handlers time each callback).
        handle_cast = (
            self.impl.handle_cast
            if type(self) is ServerProcess and node.telemetry is None
            else None
        )
        budget = node.batch
        # A signal that kills the server while it runs (a linked process
        # it just stopped) sets `kill_reason`: stop at once, as if the
        # signal had arrived before the next message.
        while budget and not self.busy and self.alive and self.kill_reason is None:
            msg: object
            r: object  # what the callback returned
            if self.cont is not MISSING:
                arg, self.cont = self.cont, MISSING
                self.last = msg = ("$continue", arg)
                self.dispatch(self.impl.handle_continue, arg)
            else:
                mb = self.mailbox
                if not mb:
                    break
                msg = mb.popleft()
                if (
                    handle_cast is not None
                    and type(msg) is tuple
                    and len(msg) == 2
                    and msg[0] is GEN_CAST
                ):
                    self.last = msg
                    self.handled += 1
                    # `dispatch(handle_cast, msg[1])`, inlined: a call less per cast.
                    try:
                        r = handle_cast(msg[1], self.state)
                        if type(r) is NoReply and r.options is None:
                            self.state = r.state
                        else:
                            self.settle(r, handle_cast)
                    except Exception as exc:
                        self.crash(exc)
                elif type(msg) is From and handle_cast is not None:
                    # `handle(msg)` and `handle_call(msg)`, inlined for the
                    # calls of an undebugged server.
                    self.last = msg
                    self.handled += 1
                    try:
                        r = self.impl.handle_call(msg.request, msg, self.state)
                    except Exception as exc:
                        self.call_failed(msg, exc)
                    else:
                        if type(r) is Reply and r.options is None:
                            self.state = r.state
                            msg.reply(r.reply)
                        else:
                            self.call_result(r, msg)
                    if msg is until:
                        budget = 1  # the caller's own call ends the batch
                else:
                    self.handle(msg)
                    if self.suspended or msg is until:
                        # `otp.sys.suspend`: from now on only system messages.
                        budget = 1
            if timed:
                t1 = perf()
                if t1 - t0 >= HELD_WRITES and flush_writes is not None:
                    # A message that computed for a while: what it sent (its
                    # reply) leaves now, not after the next messages too.
                    flush_writes()
                if slow is not None and t1 - t0 > slow:
                    if until is MISSING:
                        self.report_slow(msg, t1 - t0)
                    else:
                        self.report_nested_slow(msg, t0, t1)
                t0 = t1
            budget -= 1

    def run_suspended(self) -> None:
        """While suspended (`otp.sys.suspend`), handle system messages only."""
        node = self.rt
        enter_task(node.loop, node.callback_task)
        try:
            while self.suspended and not self.busy and self.alive and self.mailbox:
                mb = self.mailbox
                msg = next((m for m in mb if type(m) is System), None)
                if msg is None:
                    break
                mb.remove(msg)
                self.handle_system(msg)
        finally:
            leave_task(node.loop, node.callback_task)
        if not self.suspended:
            self.wake()  # resumed: the other messages run now

    # -- one message ------------------------------------------------------------

    def handle(self, msg: object) -> None:
        self.last = msg
        self.handled += 1
        if type(msg) is From:
            self.handle_call(msg)
        elif type(msg) is tuple and len(msg) == 2 and msg[0] is GEN_CAST:
            if self.rt.telemetry is None:
                self.dispatch(self.impl.handle_cast, msg[1])
            else:
                timed_cast(self, msg[1])
        elif type(msg) is Exited and (msg.pid is self.parent or msg.pid is self) and self.trap:
            # The parent (supervisor) asks us to stop: terminate runs, as in OTP.
            # A signal "from ourselves" is the node shutting its root processes
            # down (`Node.shutdown` outside any process): the node is our parent.
            self.stop_server(msg.reason, self.state)
        elif type(msg) is System:
            self.handle_system(msg)
        else:
            self.dispatch(self.impl.handle_info, msg)

    def handle_call(self, from_: From) -> None:
        if self.rt.telemetry is not None:
            timed_call(self, from_)
            return
        try:
            r = self.impl.handle_call(from_.request, from_, self.state)
        except Exception as exc:
            self.call_failed(from_, exc)
            return
        if type(r) is Reply and r.options is None:
            self.state = r.state  # the common case of after_call, inlined
            from_.reply(r.reply)
        else:
            self.call_result(r, from_)

    def call_result(self, r: object, from_: From) -> None:
        """Any other result of `handle_call` than a plain Reply: async, options, Stop, bad."""
        try:
            if type(r) is CoroutineType:
                self.go_async(r, from_)
            else:
                self.after_call(r, from_)
        except Exception as exc:
            self.call_failed(from_, exc)

    def call_failed(self, from_: From, exc: Exception) -> None:
        """`handle_call` raised (or returned something bad): the server crashes."""
        self.defer(from_)  # the caller gets Exit(exc) once terminate ran
        self.crash(exc)

    def dispatch(self, callback: Callable[[object, object], object], arg: object) -> None:
        try:
            r = callback(arg, self.state)
            if type(r) is NoReply and r.options is None:
                self.state = r.state  # the common case of after_noreply, inlined
            else:
                self.settle(r, callback)
        except Exception as exc:
            self.crash(exc)

    def settle(self, r: object, callback: Callable[[object, object], object]) -> None:
        """Any other result of a callback without a caller: async, options, Stop, bad."""
        if type(r) is CoroutineType:
            self.go_async(r, None)
        else:
            self.after_noreply(r, callback)

    # -- results -------------------------------------------------------------------

    def after_call(self, r: object, from_: From) -> None:
        if type(r) is Reply:
            self.state = r.state
            from_.reply(r.reply)
            if r.options is not None:
                self.options(*r.options)
        elif type(r) is NoReply:
            self.state = r.state
            self.defer(from_)
            if r.options is not None:
                self.options(*r.options)
        elif type(r) is Stop:
            # Without `reply=`, the caller gets Exit(reason) once the server died.
            if r.reply is MISSING:
                self.defer(from_)
            elif from_.remote is not None:
                from_.reply(r.reply)  # on the wire, as in OTP: the reply before the exit
            state = self.state if r.state is MISSING else r.state
            # As in OTP, the caller gets its reply once terminate has run.
            answer = None if r.reply is MISSING else (from_, r.reply)
            self.stop_server(r.reason, state, answer=answer)
        else:
            raise TypeError(
                f"handle_call must return otp.Reply(reply, state), otp.NoReply(state) "
                f"or otp.Stop(reason, state); got {show(r)} ({type(r).__name__})"
            )

    def after_noreply(self, r: object, callback: Callable[..., object]) -> None:
        if type(r) is NoReply:
            self.state = r.state
            if r.options is not None:
                self.options(*r.options)
        elif type(r) is Stop:
            self.stop_server(r.reason, self.state if r.state is MISSING else r.state)
        else:
            raise TypeError(
                f"{callback.__name__} must return otp.NoReply(state) or "
                f"otp.Stop(reason, state); got {show(r)} ({type(r).__name__})"
            )

    def options(self, timeout: float | None, continue_: object, sleep: bool = False) -> None:
        if sleep:
            hibernate(self)  # see `_hibernate.py`
        if timeout is not None:
            check_timeout(timeout, "the timeout= of a callback's result")
        if continue_ is not MISSING:
            self.cont = continue_
        elif timeout is not None and not self.mailbox:
            self.idle = timeout
            self.timer = self.rt.loop.call_later(timeout, self.on_timeout)

    def rearm(self) -> None:
        """After a system message: wait the whole `timeout=` again, as gen_server does.

        A system message (an `otp.sys` request) does not end a `timeout=`
        wait: OTP's gen_server goes back to its receive with the same
        timeout, which starts over. Any other message ends it.
        """
        if self.idle is not None and self.timer is None and not self.suspended:
            if self.mailbox:
                self.idle = None  # another message is waiting: it ends the wait
            else:
                self.timer = self.rt.loop.call_later(self.idle, self.on_timeout)

    def on_timeout(self) -> None:
        self.timer = None
        self.idle = None
        if self.alive and not self.mailbox:
            self.enqueue("timeout")

    # -- async callbacks --------------------------------------------------------

    def go_async(self, coro: Any, from_: From | None, span: Span | None = None) -> None:
        self.busy = True
        if from_ is not None:
            self.defer(from_)  # fails with the server's reason if it dies meanwhile
        self.task = self.rt.loop.create_task(
            drive(self.finish_async(coro, from_, span), self, pending=coro),
            context=self.own_ctx(),
        )

    async def finish_async(self, coro: Any, from_: From | None, span: Span | None = None) -> None:
        try:
            try:
                r = await coro
            except Exception as exc:
                if span is not None:
                    span.exception(exc)
                raise
            if span is not None:
                span.stop()
            if not self.alive:
                return
            if from_ is not None:
                self.after_call(r, from_)
            else:
                self.after_noreply(r, coro_callback(coro))
        except asyncio.CancelledError:
            if self.alive:
                self.die(self.kill_reason if self.kill_reason is not None else "killed")
            raise
        except Exception as exc:
            if self.alive:
                self.crash(exc)
        finally:
            # An async terminate started above owns the task and stays busy.
            if self.task is asyncio.current_task():
                self.task = None
                self.busy = False
        if self.kill_reason is not None and self.alive:
            self.die(self.kill_reason)
        self.wake()

    # -- system messages (otp.stop, otp.sys) -----------------------------------------

    def handle_system(self, msg: System) -> None:
        if msg.kind == "stop":
            self.stop_server(msg.payload, self.state)
            return
        try:
            result = SYSTEM_HANDLERS[msg.kind](self, msg.payload)
        except Exception as exc:
            if msg.fut is not None and not msg.fut.done():
                msg.fut.set_exception(exc)
        else:
            if msg.fut is not None and not msg.fut.done():
                msg.fut.set_result(result)
        self.rearm()


def coro_callback(coro: Any) -> Callable[..., object]:
    """The callback a coroutine came from, for error messages."""
    name = getattr(coro, "__qualname__", "callback").rsplit(".", 1)[-1]

    def named() -> None:  # pragma: no cover - only its name is used
        pass

    named.__name__ = name
    return named
