"""Calls served inside the caller's own step, without a trip through the event loop.

A queued call costs a wake-up of the server (`loop.call_soon`), a Future,
and a wake-up of the caller. When the server could answer at once, the
caller does the server's work itself, as the server:

- an idle server (empty mailbox, nothing to continue): `call_inline` runs
  `handle_call` in the caller's step;
- a server whose batch is due but has not run yet (its `run` is scheduled,
  messages wait): `call_in_batch` appends the call to the mailbox, as any
  call, and runs the batch in the caller's step up to and including the
  call. The messages queued before it are handled first, in order, exactly
  as the server's own `run` would; what other callers waited for is
  answered through their futures.

Either way the callbacks run in the server's context (`current_process` is
the server, and context variables are the server's), slow callbacks are
reported by the server (`report_nested_slow`), and the caller sees what a
queued call would give it: the reply, `Exit(reason)` if the server died
first, or, when the server did not answer at once (`NoReply`, an async
callback, the batch ended before the call, a `:sys` suspend), a wait for
the reply with the call's timeout (`_wait_inline` in `_gen_server_client.py`).

`call` in `_gen_server_client.py` decides when: the server is not busy, not
suspended, its `handle_call` is a plain function, and the node's inline
budget (`Node.inline_budget` calls before one goes through the loop) is
not spent, so that a loop of calls cannot starve other processes. A batch
runs inline only when fewer messages than a batch wait, so a caller never
does more than one batch of the server's work.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .._errors import Exit
from ._results import MISSING, Reply
from ._server_messages import From, server_exit
from ._server_process import ServerProcess

if TYPE_CHECKING:
    from .._runtime._process import Process

perf = time.perf_counter


def call_inline(proc: ServerProcess, request: object, caller: Process | None) -> From:
    """Run `handle_call` inside the caller's step; the returned From says if it replied."""
    # The server runs handle_call in our step, as itself: busy so that
    # messages it sends to itself queue instead of re-entering it.
    from_ = From(caller, request, proc)
    proc.busy = True
    proc.last = from_
    proc.handled += 1
    if proc.timer is not None:  # like any message, the call cancels a `timeout=`
        proc.timer.cancel()
        proc.timer = None
        proc.idle = None
    node = proc.rt
    slow = node.slow_callback
    t0 = perf() if slow is not None else 0.0
    ctx = proc.ctx
    if ctx is None:
        ctx = proc.own_ctx()
    try:
        if type(proc) is ServerProcess and node.telemetry is None:
            # `proc.handle_call(from_)` in the server's context, with only
            # the callback itself in it: a call less on every inline call.
            try:
                r = ctx.run(proc.impl.handle_call, request, from_, proc.state)
            except Exception as exc:
                ctx.run(proc.call_failed, from_, exc)
            else:
                if type(r) is Reply and r.options is None:
                    proc.state = r.state
                    if not from_.done:  # `from_.reply(r.reply)` for a caller in its step
                        from_.done = True
                        from_.value = r.reply
                else:
                    ctx.run(proc.call_result, r, from_)
        else:  # `otp.sys` debugging hooks its handle_call; telemetry times it
            ctx.run(proc.handle_call, from_)
    finally:
        if proc.task is None:
            proc.busy = False
    if slow is not None:
        t1 = perf()
        if t1 - t0 > slow:
            proc.report_nested_slow(from_, t0, t1)
    if proc.kill_reason is not None and proc.alive:
        proc.die(proc.kill_reason)
    if proc.mailbox or proc.cont is not MISSING:
        proc.wake()
    return from_


def call_in_batch(proc: ServerProcess, request: object, caller: Process | None) -> From:
    """Queue the call, then run the server's due batch in the caller's step, up to it.

    The returned From is answered (`done`) unless the server did not reply
    at once or stopped before reaching it; it then waits in the mailbox
    (or among the server's deferred calls) like any queued call.
    """
    from_ = From(caller, request, proc)
    proc.put(from_)
    ctx = proc.ctx
    (ctx if ctx is not None else proc.own_ctx()).run(proc.batch, from_)
    if proc.kill_reason is not None and proc.alive:
        proc.die(proc.kill_reason)
    # Its `run` is still scheduled and handles what is left; `wake` only
    # matters if an async callback or a suspend ended the batch.
    proc.wake()
    return from_


def exit_during_call(proc: Process, request: object) -> Exit:
    return server_exit(proc, proc.reason, request)


__all__ = ["call_in_batch", "call_inline", "exit_during_call"]
