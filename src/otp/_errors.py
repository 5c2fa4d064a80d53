"""The exception tree of `otp`.

::

    Exception
    ├── Exit(reason)                 a process ended, or an exit signal, with `.reason`
    │   ├── NoProc                   the target process does not exist (reason "noproc")
    │   ├── CallTimeout              `call` got no reply in time (also a TimeoutError)
    │   ├── NoConnection             the target's node is unreachable (reason "noconnection")
    │   ├── NotInProcess             a process-only function was used outside a process
    │   ├── SpawnError               another node refused a remote spawn (reason: its atom)
    │   └── RemoteException          `otp.erpc.call`: the function failed on the other node
    │       ├── RemoteError(stack)   it raised an error (Erlang's `error` class)
    │       ├── RemoteThrow          it threw a value (Erlang's `throw`), in `.reason`
    │       └── RemoteExit(signal)   it exited, or its process was killed by a signal
    ├── StartError(reason)           a server or child failed to start
    │   ├── AlreadyStarted(pid)      the name asked for is taken
    │   └── MaxChildren              a DynamicSupervisor is full
    ├── AlreadyRegistered(pid)       `register` of a taken name
    └── TableError                   a table access outside its `access=`, or a deleted table

    UserWarning
    └── CallbackWarning              a method named like a misspelt callback (`handle_cal`)

Data lives in attributes (`.reason`, `.pid`); messages are for people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._runtime._ids import Pid


def _show(value: object) -> str:
    from ._runtime._repr import MESSAGE_LIMIT, safe_repr

    return safe_repr(value, MESSAGE_LIMIT)


class Exit(Exception):
    """A process exit with a reason: raise it to end the current process.

    `raise otp.Exit("shutdown")` ends the current process with reason
    `"shutdown"`; `call` raises it when the server exits during the call.
    """

    reason: object

    def __init__(self, reason: object = "normal", message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message if message is not None else f"exit: {_show(reason)}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, str(self)))


class NoProc(Exit):
    """The target process is not alive, or no process has that name."""

    def __init__(self, reason: object = "noproc", message: str | None = None) -> None:
        super().__init__(reason, message if message is not None else "no such process")


class CallTimeout(Exit, TimeoutError):
    """`call` got no reply within its timeout; a late reply is dropped."""

    def __init__(self, reason: object = "timeout", message: str | None = None) -> None:
        super().__init__(reason, message if message is not None else "call timed out")


class NoConnection(Exit):
    """The node of the target process is not connected."""

    def __init__(self, reason: object = "noconnection", message: str | None = None) -> None:
        super().__init__(reason, message if message is not None else "no connection")


class NotInProcess(Exit):
    """A function that needs the current process ran outside one."""

    def __init__(self, reason: object = "not_in_process", message: str | None = None) -> None:
        super().__init__(
            reason,
            message
            if message is not None
            else "this function must run inside an otp process: start one with "
            "otp.spawn(...), otp.run(main) or a GenServer",
        )


class StartError(Exception):
    """A process failed to start; `.reason` says why."""

    reason: object

    def __init__(self, reason: object, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message if message is not None else f"start failed: {_show(reason)}")


class AlreadyStarted(StartError):
    """The name a server was started with is taken by `.pid`."""

    pid: Pid

    def __init__(self, pid: Pid, message: str | None = None) -> None:
        self.pid = pid
        super().__init__(
            ("already_started", pid),
            message if message is not None else f"the name is already taken by {pid!r}",
        )


class MaxChildren(StartError):
    """A DynamicSupervisor already has `max_children` children."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("max_children", message)


class AlreadyRegistered(Exception):
    """A name or unique registry key is taken by `.pid`."""

    pid: Pid

    def __init__(self, pid: Pid, message: str | None = None) -> None:
        self.pid = pid
        super().__init__(message if message is not None else f"already registered to {pid!r}")


class TableError(Exception):
    """A table was used outside its `access=` rules, or after it was deleted."""


class CallbackWarning(UserWarning):
    """A behaviour's subclass has a method whose name looks like a misspelt callback.

    Issued when the class is created: `def handle_cal(...)` in a GenServer
    is never called, since the server looks for `handle_call`. Rename the
    method, or prefix it with an underscore if it is a helper.
    """


class SpawnError(Exit):
    """Another node refused to start a process: `.reason` is its answer (`notsup`, `badopt`...).

    Raised by `await otp.spawn(fn, node=...)` (and `spawn_link`, `spawn_monitor`)
    and by `otp.erpc`. A lost connection raises NoConnection instead.
    """


class RemoteException(Exit):
    """`otp.erpc.call`: the function failed on the other node; `.node` names that node.

    Raise one of the subclasses in a function that Erlang calls through
    `:erpc.call` to answer with that class (`RemoteThrow(value)` throws `value`).
    """

    node: str | None

    def __init__(self, reason: object, message: str | None = None, node: str | None = None) -> None:
        self.node = node
        super().__init__(reason, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, str(self), self.node))


class RemoteError(RemoteException):
    """The function raised an error (Erlang's `error` class): `.reason`, and `.stack`.

    An Erlang error comes with Erlang's reason (`badarg`, `undef`...) and
    stack; a Python exception raised on a Python node comes as the reason
    `("python", "ValueError", "the message")`.
    """

    stack: list[object]

    def __init__(
        self,
        reason: object,
        message: str | None = None,
        node: str | None = None,
        stack: list[object] | None = None,
    ) -> None:
        self.stack = stack if stack is not None else []
        super().__init__(reason, message, node)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, str(self), self.node, self.stack))


class RemoteThrow(RemoteException):
    """The function threw `.reason` (Erlang's `throw(Value)`)."""


class RemoteExit(RemoteException):
    """The function exited with `.reason`; `.signal` is True when an exit signal killed it.

    Erlang's `exit({exception, Reason})` (the function called `exit/1`) or
    `exit({signal, Reason})` (its process was killed while it ran).
    """

    signal: bool

    def __init__(
        self,
        reason: object,
        message: str | None = None,
        node: str | None = None,
        signal: bool = False,
    ) -> None:
        self.signal = signal
        super().__init__(reason, message, node)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, str(self), self.node, self.signal))
