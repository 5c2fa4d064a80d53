"""`otp.run`: the `asyncio.run` of otp, with a graceful shutdown on signals."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypedDict, TypeVar

from .._errors import Exit
from ._long_mailbox import DEFAULT_MAILBOX_WARNING
from ._node import DEFAULT_BATCH, DEFAULT_SLOW_CALLBACK, Node, check_process_fn
from ._process import Process, start_task
from ._repr import DEFAULT_LIMIT

T = TypeVar("T")
logger = logging.getLogger("otp")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class NodeOptions(TypedDict, total=False):
    """The options of `otp.Node` that `otp.run` (and `VirtualClock.run`) pass on."""

    node: str | None
    cookie: str | None
    hidden: bool
    net_ticktime: float
    slow_callback: float | None
    batch: int
    shutdown_timeout: float
    report_limit: int
    bind: str | None
    port: int | tuple[int, int] | None
    tls: object
    pickle: bool
    rpc: str | Sequence[str]
    observer: int | None
    mailbox_warning: int | None


def run(
    main: Callable[..., Coroutine[Any, Any, T]],
    *args: object,
    node: str | None = None,
    cookie: str | None = None,
    hidden: bool = True,
    net_ticktime: float = 60.0,
    slow_callback: float | None = DEFAULT_SLOW_CALLBACK,
    batch: int = DEFAULT_BATCH,
    shutdown_timeout: float = 5.0,
    report_limit: int = DEFAULT_LIMIT,
    bind: str | None = None,
    port: int | tuple[int, int] | None = None,
    tls: object = None,
    pickle: bool = True,
    rpc: str | Sequence[str] = "*",
    observer: int | None = None,
    mailbox_warning: int | None = DEFAULT_MAILBOX_WARNING,
    use_uvloop: bool = False,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    handle_signals: bool = True,
) -> T:
    """Start a node, run `main(*args)` as its first process, return its result.

    >>> import otp
    >>> async def main(x):
    ...     return x * 2
    >>> otp.run(main, 21)
    42

    When `main` returns, every process still running is shut down:
    supervisors stop their children in reverse start order, honouring
    their shutdown timeouts, and `terminate` runs where OTP would run it.
    If `main` raises, the exception propagates from `run` after that.

    SIGINT or SIGTERM while `run` runs (in the main thread) starts the
    same graceful shutdown: `main` gets exit signal `"shutdown"`, then
    the rest of the tree is stopped in order; `run` then raises
    `KeyboardInterrupt` (SIGINT) or `SystemExit(143)` (SIGTERM). A second
    signal during the shutdown kills every process at once.
    `handle_signals=False` leaves signals alone.

    `node=` names the node (making it distributed) and every other
    `otp.Node` option is accepted here too (`cookie`, `hidden`,
    `net_ticktime`, `slow_callback`, `batch`, `shutdown_timeout`,
    `report_limit`, `bind`, `port`, `tls`, `pickle`, `rpc`,
    `mailbox_warning`, `observer`), with the same meaning and defaults:
    `observer=8000` serves the web dashboard (`otp.observer`) on
    http://127.0.0.1:8000 while `main` runs.

    `use_uvloop=True` runs on uvloop (`pip install otp[uvloop]`).
    """
    # Built here, outside any loop, so that a bad option fails at once.
    the_node = Node(
        node,
        cookie,
        hidden=hidden,
        net_ticktime=net_ticktime,
        slow_callback=slow_callback,
        batch=batch,
        shutdown_timeout=shutdown_timeout,
        report_limit=report_limit,
        bind=bind,
        port=port,
        tls=tls,
        pickle=pickle,
        rpc=rpc,
        observer=observer,
        mailbox_warning=mailbox_warning,
    )
    if _running_loop() is not None:
        raise RuntimeError(
            "otp.run cannot be called from a running event loop; inside async code "
            "use `async with otp.Node():` instead"
        )
    check_process_fn(main, "run")  # before a loop starts, not as main's crash
    if use_uvloop:
        try:
            import uvloop
        except ImportError:  # pragma: no cover - depends on the extra
            raise ImportError("use_uvloop=True needs uvloop: pip install 'otp[uvloop]'") from None
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_main(main, args, the_node, handle_signals))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Signals:
    """SIGINT/SIGTERM: first a graceful shutdown, then, on a second one, kill all."""

    def __init__(self, node: Node, main: Process) -> None:
        self.node = node
        self.main = main
        self.received: int | None = None
        self.installed: list[int] = []
        loop = node.loop
        for sig in _SIGNALS:
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            self.installed.append(sig)

    def on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self.received is not None:
            logger.warning("Received %s again: killing every process now", name)
            self.node.kill_all()
            return
        self.received = sig
        logger.warning("Received %s: shutting down (send it again to force)", name)
        self.main.exit_signal(self.main, "shutdown", False)

    def remove(self) -> None:
        for sig in self.installed:
            self.node.loop.remove_signal_handler(sig)

    def raise_if_received(self) -> None:
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received is not None:
            raise SystemExit(128 + self.received)


async def _main(
    main: Callable[..., Coroutine[Any, Any, T]],
    args: tuple[object, ...],
    node: Node,
    handle_signals: bool,
) -> T:
    outcome: list[tuple[str, Any]] = []

    async def body() -> None:
        try:
            outcome.append(("ok", await main(*args)))
        except Exception as exc:
            # Re-raised from run() below: ending with Exit keeps the crash
            # out of the log, since the caller sees it anyway.
            outcome.append(("error", exc))
            raise Exit(exc) from exc

    signals: _Signals | None = None
    try:
        async with node:
            proc = Process(node)
            if handle_signals:
                signals = _Signals(node, proc)
            start_task(proc, body, (), what=main)
            assert proc.task is not None
            await asyncio.wait([proc.task])
    finally:
        if signals is not None:
            signals.remove()
    if signals is not None:
        signals.raise_if_received()
    if not outcome:
        raise Exit(proc.reason)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    result: T = value
    return result
