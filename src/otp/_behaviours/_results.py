"""What GenServer callbacks return: `Ok`, `Reply`, `NoReply`, `Stop`, `Ignore`."""

from __future__ import annotations

from typing import Final, final


@final
class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


#: Marks an option that was not given (`None` is a valid state, reply or continue argument).
MISSING: Final = _Missing()


def _opts(timeout: float | None, hibernate: bool, continue_: object) -> str:
    parts = []
    if timeout is not None:
        parts.append(f", timeout={timeout!r}")
    if hibernate:
        parts.append(", hibernate=True")
    if continue_ is not MISSING:
        parts.append(f", continue_={continue_!r}")
    return "".join(parts)


@final
class Ok:
    """`init` succeeded: `Ok(state, timeout=None, hibernate=False, continue_=...)`.

    Returning a plain value from `init` means `Ok(value)`.
    """

    __slots__ = ("continue_", "hibernate", "state", "timeout")

    def __init__(
        self,
        state: object,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.state = state
        self.timeout = timeout
        self.hibernate = hibernate
        self.continue_ = continue_

    def __repr__(self) -> str:
        return f"Ok({self.state!r}{_opts(self.timeout, self.hibernate, self.continue_)})"


@final
class Reply:
    """`handle_call` answers now: `Reply(reply, state, timeout=, hibernate=, continue_=)`."""

    __slots__ = ("continue_", "hibernate", "reply", "state", "timeout")

    def __init__(
        self,
        reply: object,
        state: object,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.reply = reply
        self.state = state
        self.timeout = timeout
        self.hibernate = hibernate
        self.continue_ = continue_

    def __repr__(self) -> str:
        opts = _opts(self.timeout, self.hibernate, self.continue_)
        return f"Reply({self.reply!r}, {self.state!r}{opts})"


@final
class NoReply:
    """Carry on with `state`; from `handle_call`, answer later with `otp.reply(from_, value)`."""

    __slots__ = ("continue_", "hibernate", "state", "timeout")

    def __init__(
        self,
        state: object,
        *,
        timeout: float | None = None,
        hibernate: bool = False,
        continue_: object = MISSING,
    ) -> None:
        self.state = state
        self.timeout = timeout
        self.hibernate = hibernate
        self.continue_ = continue_

    def __repr__(self) -> str:
        return f"NoReply({self.state!r}{_opts(self.timeout, self.hibernate, self.continue_)})"


@final
class Stop:
    """Stop the server: `Stop(reason, state, reply=...)`; from `init`, just `Stop(reason)`.

    `terminate(reason, state)` runs first; then, from `handle_call`, the
    caller gets `reply` if one was given.
    """

    __slots__ = ("reason", "reply", "state")

    def __init__(self, reason: object, state: object = MISSING, *, reply: object = MISSING) -> None:
        self.reason = reason
        self.state = state
        self.reply = reply

    def __repr__(self) -> str:
        state = "" if self.state is MISSING else f", {self.state!r}"
        reply = "" if self.reply is MISSING else f", reply={self.reply!r}"
        return f"Stop({self.reason!r}{state}{reply})"


@final
class Ignore:
    """`init` declines to start: the start function returns None, nothing is logged."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Ignore()"
