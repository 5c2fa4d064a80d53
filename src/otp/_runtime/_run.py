"""`otp.run`: the `asyncio.run` of otp."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._errors import Exit
from ._node import Node
from ._process import Process

T = TypeVar("T")


def run(
    main: Callable[..., Coroutine[Any, Any, T]],
    *args: object,
    node: str | None = None,
    cookie: str | None = None,
    use_uvloop: bool = False,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Start a node, run `main(*args)` as its first process, return its result.

    >>> import otp
    >>> async def main(x):
    ...     return x * 2
    >>> otp.run(main, 21)
    42

    When `main` returns, every process still running is shut down
    (supervisors stop their children in reverse start order). If `main`
    raises, the exception propagates from `run` after that shutdown.
    `use_uvloop=True` runs on uvloop (`pip install otp[uvloop]`).
    """
    if use_uvloop:
        try:
            import uvloop
        except ImportError:  # pragma: no cover - depends on the extra
            raise ImportError("use_uvloop=True needs uvloop: pip install 'otp[uvloop]'") from None
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_main(main, args, node, cookie))


async def _main(
    main: Callable[..., Coroutine[Any, Any, T]],
    args: tuple[object, ...],
    name: str | None,
    cookie: str | None,
) -> T:
    async with Node(name, cookie) as node:
        proc = Process(node)
        outcome: list[tuple[str, Any]] = []

        async def body() -> None:
            try:
                outcome.append(("ok", await main(*args)))
            except Exception as exc:
                # Re-raised from run() below: ending with Exit keeps the
                # crash out of the log, since the caller sees it anyway.
                outcome.append(("error", exc))
                raise Exit(exc) from exc

        from ._process import start_task

        start_task(proc, body, ())
        assert proc.task is not None
        await asyncio.wait([proc.task])
    if not outcome:
        raise Exit(proc.reason)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    result: T = value
    return result
