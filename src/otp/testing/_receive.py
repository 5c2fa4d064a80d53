"""`assert_receive` and `refute_receive`: ExUnit's mailbox assertions.

A `match` says which message is wanted; Python has no pattern binding,
so `assert_receive` returns the message it took, for the test to unpack:

- a type (or a union such as `int | str`): a message that is an instance;
- a callable (not a type): a message for which `match(msg)` is true;
- any other value: a message equal to it (`match == msg`); inside a
  tuple or a list, `unittest.mock.ANY` matches any element, and `ANY`
  alone matches any message.

The message is taken out of the mailbox by selective receive: the others
stay queued, in order. Timeouts run on the node's clock, so on a
`VirtualClock` they take no real time.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TypeVar, overload

from .._runtime._mailbox import receive
from .._runtime._process import qualified_name
from .._runtime._repr import safe_repr
from .._runtime._scheduler import self_process

#: Messages the failure of `assert_receive` shows, at most (ExUnit shows 10).
SHOWN = 10
#: Characters each shown message is cut to.
SHOWN_LIMIT = 300

T = TypeVar("T")


@overload
async def assert_receive(match: type[T], timeout: float | None = 0.1) -> T: ...
@overload
async def assert_receive(match: object, timeout: float | None = 0.1) -> object: ...


async def assert_receive(match: object, timeout: float | None = 0.1) -> object:
    """Take the oldest message matching `match` from the mailbox, and return it.

    >>> import otp
    >>> from unittest.mock import ANY
    >>> from otp.testing import VirtualClock, assert_receive
    >>> async def main():
    ...     otp.send(otp.self(), "noise")
    ...     otp.send_after(otp.self(), ("reading", 21.5), 30)
    ...     _, value = await assert_receive(("reading", ANY), timeout=60)
    ...     return value, await otp.receive(timeout=0)
    >>> VirtualClock().run(main)
    (21.5, 'noise')

    Waits at most `timeout` seconds (default 0.1, as ExUnit; 0: only look
    at what is already there, ExUnit's `assert_received`; None: forever)
    for a match. Messages that do not match stay queued in order. If the
    caller is cancelled, every message stays queued.

    Raises:
        AssertionError: no matching message arrived in time; the message
            shows what the mailbox held (the oldest `SHOWN` messages).
        otp.NotInProcess: called outside an otp process.
    """
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    proc = self_process("otp.testing.assert_receive")
    test = matcher(match)
    try:
        return await receive(timeout=timeout, match=test)
    except TimeoutError:
        pass
    queued = list(proc.mailbox or ())
    raise AssertionError(_no_match(match, timeout, queued)) from None


async def refute_receive(match: object, timeout: float | None = 0.1) -> None:
    """Assert that no message matching `match` arrives within `timeout` seconds.

    >>> import otp
    >>> from otp.testing import VirtualClock, refute_receive
    >>> async def main():
    ...     otp.send_after(otp.self(), "late", 5)
    ...     await refute_receive("late", timeout=1)
    ...     return "nothing within 1 s"
    >>> VirtualClock().run(main)
    'nothing within 1 s'

    Waits the whole `timeout` (default 0.1; 0: only look at what is already
    there, ExUnit's `refute_received`); `match` as for `assert_receive`.
    A matching message that arrives is taken out of the mailbox; the
    others stay queued in order.

    Raises:
        AssertionError: a matching message arrived (the message shows it).
        ValueError: `timeout` is None (refuting forever never ends).
        otp.NotInProcess: called outside an otp process.
    """
    __tracebackhide__ = True
    self_process("otp.testing.refute_receive")
    if timeout is None:
        raise ValueError(
            "refute_receive needs a finite timeout: it waits all of it; got None "
            "(pass seconds, e.g. timeout=0.1, or 0 to look only at the mailbox)"
        )
    test = matcher(match)
    try:
        msg = await receive(timeout=timeout, match=test)
    except TimeoutError:
        return
    raise AssertionError(
        f"Refute failed: received a message matching {describe(match)} "
        f"within {timeout} s:\n  {safe_repr(msg, SHOWN_LIMIT)}"
    )


def matcher(match: object) -> Callable[[object], bool]:
    """The predicate for `match`: isinstance for a type, a callable as is, else ==."""
    if isinstance(match, type | types.UnionType):
        kind = match
        return lambda msg: isinstance(msg, kind)
    if callable(match):
        predicate = match
        return lambda msg: bool(predicate(msg))
    return lambda msg: _equal(match, msg)


def _equal(match: object, msg: object) -> bool:
    # `match` on the left: its elements (unittest.mock.ANY) compare first.
    try:
        return bool(match == msg)
    except Exception:  # e.g. an array whose == gives no single truth value
        return False


def describe(match: object) -> str:
    """How `match` reads in a failure: `an instance of Down`, `is_pong(msg)`, a repr."""
    if isinstance(match, type):
        return f"an instance of {match.__qualname__}"
    if isinstance(match, types.UnionType):
        return f"an instance of {match}"
    if callable(match):
        name = qualified_name(match) or safe_repr(match, SHOWN_LIMIT)
        return f"{name}(msg)"
    return safe_repr(match, SHOWN_LIMIT)


def _no_match(match: object, timeout: float | None, queued: list[object]) -> str:
    lines = [
        f"Assertion failed, no matching message after {timeout} s.",
        f"Expected a message matching {describe(match)}.",
    ]
    if not queued:
        lines.append("The process mailbox is empty.")
        return "\n".join(lines)
    shown = queued[:SHOWN]
    lines.append(f"Showing {len(shown)} of {len(queued)} messages in the mailbox, oldest first:")
    lines += [f"  {safe_repr(msg, SHOWN_LIMIT)}" for msg in shown]
    return "\n".join(lines)


__all__ = ["assert_receive", "describe", "matcher", "refute_receive"]
