"""What GenServer callbacks return: `Ok`, `Reply`, `NoReply`, `Stop`, `Ignore`.

`init` returns the state itself, `Ok(state, ...)`, `Ignore()` or
`Stop(reason)`; `handle_call` returns `Reply`, `NoReply` or `Stop`; the other
callbacks return `NoReply` or `Stop`. `Ok`, `Reply` and `NoReply` take the
options `timeout=` (seconds without a message before `"timeout"` arrives in
`handle_info`), `hibernate=` (the server drops the last message it kept
for crash reports and an empty mailbox, and shrinks its link and monitor
tables; no garbage collection runs) and `continue_=` (run `handle_continue(arg, state)` before any
other message).

>>> import otp
>>> class Ticker(otp.GenServer):
...     def init(self, arg):
...         return otp.Ok(0, continue_="warm up")
...     def handle_continue(self, arg, state):
...         return otp.NoReply(state + 1)
...     def handle_call(self, request, from_, state):
...         if request == "stop":
...             return otp.Stop("normal", state, reply="bye")
...         return otp.Reply(state, state, timeout=1.0)
>>> async def main():
...     pid = await Ticker.start_link(None)
...     return await otp.call(pid, "count"), await otp.call(pid, "stop")
>>> otp.run(main)
(1, 'bye')
"""

from __future__ import annotations

from typing import Any, Final, Generic, Never, TypeVar, final, overload

import typing_extensions

from .._runtime._repr import show

T = TypeVar("T", bound=type)
#: The server's state type: `otp.Reply[int]` is a reply that leaves an int state.
#: Covariant: a `Reply[bool]` is a `Reply[int]`, and `Stop(reason)` (a `Stop[Never]`,
#: no state) fits a callback of any state type.
S = typing_extensions.TypeVar("S", covariant=True, default=Any)


def _sealed(cls: T) -> T:
    """`@final` at run time too: the server checks results by their exact type."""

    def refuse(sub: type, /, **kwargs: object) -> None:
        raise TypeError(
            f"otp.{cls.__name__} cannot be subclassed: a GenServer callback returns "
            f"otp.{cls.__name__}(...) itself"
        )

    setattr(cls, "__init_subclass__", classmethod(refuse))  # noqa: B010 - mypy forbids it
    return cls


@final
class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


#: Marks an option that was not given (`None` is a valid state, reply or continue argument).
MISSING: Final = _Missing()


#: What `Ok`, `Reply` and `NoReply` keep of their options: None when none was
#: given (the common case, tested with one attribute read per message), else
#: `(timeout, continue_, hibernate)`, the arguments of the server's `options`.
Options = tuple[float | None, object, bool]


class _WithOptions:
    """The `timeout`, `hibernate` and `continue_` of a result, read from its `options`."""

    __slots__ = ("options",)

    options: Options | None

    @property
    def timeout(self) -> float | None:
        """Seconds without a message before `"timeout"` arrives (None: no timeout)."""
        return None if self.options is None else self.options[0]

    @property
    def continue_(self) -> object:
        """The argument of the `handle_continue` to run next (`MISSING`: none)."""
        return MISSING if self.options is None else self.options[1]

    @property
    def hibernate(self) -> bool:
        """True when the server hibernates after this result (see `_hibernate.py`)."""
        return False if self.options is None else self.options[2]


def _opts(options: Options | None) -> str:
    """How a result's `repr` shows its options: `", timeout=1.0, hibernate=True"`."""
    if options is None:
        return ""
    timeout, continue_, hibernate = options
    parts = []
    if timeout is not None:
        parts.append(f", timeout={show(timeout)}")
    if hibernate:
        parts.append(", hibernate=True")
    if continue_ is not MISSING:
        parts.append(f", continue_={show(continue_)}")
    return "".join(parts)


@final
@_sealed
class Ok(_WithOptions, Generic[S]):
    """`init` succeeded: `Ok(state, timeout=None, hibernate=False, continue_=...)`.

    Returning a plain value from `init` means `Ok(value)`.
    """

    __slots__ = ("state",)

    def __init__(
        self,
        state: S,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.state = state
        # Inlined, not a helper function: a call less per result.
        if timeout is None and continue_ is MISSING and not hibernate:
            self.options = None
        else:
            self.options = (timeout, continue_, hibernate)

    def __repr__(self) -> str:
        return f"Ok({show(self.state)}{_opts(self.options)})"


@final
@_sealed
class Reply(_WithOptions, Generic[S]):
    """`handle_call` answers now: `Reply(reply, state, timeout=, hibernate=, continue_=)`."""

    __slots__ = ("reply", "state")

    def __init__(
        self,
        reply: object,
        state: S,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.reply = reply
        self.state = state
        # Inlined, not a helper function: a call less per result.
        if timeout is None and continue_ is MISSING and not hibernate:
            self.options = None
        else:
            self.options = (timeout, continue_, hibernate)

    def __repr__(self) -> str:
        opts = _opts(self.options)
        return f"Reply({show(self.reply)}, {show(self.state)}{opts})"


@final
@_sealed
class NoReply(_WithOptions, Generic[S]):
    """Carry on with `state`; from `handle_call`, answer later with `otp.reply(from_, value)`."""

    __slots__ = ("state",)

    def __init__(
        self,
        state: S,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.state = state
        # Inlined, not a helper function: a call less per result.
        if timeout is None and continue_ is MISSING and not hibernate:
            self.options = None
        else:
            self.options = (timeout, continue_, hibernate)

    def __repr__(self) -> str:
        return f"NoReply({show(self.state)}{_opts(self.options)})"


@final
@_sealed
class Stop(Generic[S]):
    """Stop the server: `Stop(reason, state, reply=...)`; from `init`, just `Stop(reason)`.

    `terminate(reason, state)` runs first; then, from `handle_call`, the
    caller gets `reply` if one was given.
    """

    __slots__ = ("reason", "reply", "state")

    reason: object
    state: S | _Missing  # MISSING: none given (from `init`)
    reply: object

    # Without a state, `Stop(reason)` is a `Stop[Never]`: it fits every state type.
    @overload
    def __init__(self: Stop[Never], reason: object, *, reply: object = ...) -> None: ...
    @overload
    def __init__(self, reason: object, state: S, *, reply: object = ...) -> None: ...
    def __init__(self, reason: object, state: Any = MISSING, *, reply: object = MISSING) -> None:
        self.reason = reason
        self.state = state
        self.reply = reply

    def __repr__(self) -> str:
        state = "" if self.state is MISSING else f", {show(self.state)}"
        reply = "" if self.reply is MISSING else f", reply={show(self.reply)}"
        return f"Stop({show(self.reason)}{state}{reply})"


@final
@_sealed
class Ignore:
    """`init` declines to start: the start function returns None, nothing is logged."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Ignore()"
