"""Supervisor: a process that starts, watches and restarts other processes.

Example::

    >>> import otp
    >>> class Counter(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state, state + 1)
    >>> async def main():
    ...     sup = await otp.Supervisor.start_link([(Counter, 0)], strategy="one_for_one")
    ...     [child] = await otp.Supervisor.which_children(sup)
    ...     return child.id is Counter, await otp.call(child.pid, "next")
    >>> otp.run(main)
    (True, 0)

Children start in list order; each must have started (its `init` returned)
before the next starts, so a child may rely on its elder siblings. If one
fails, the ones already started are stopped in reverse order and the
supervisor fails to start. On exit, children stop in reverse start order.

Strategies: `one_for_one` restarts only the child that exited;
`one_for_all` stops all the others and restarts every child;
`rest_for_one` restarts the child and every child started after it.

Restart intensity: more than `max_restarts` restarts within `max_seconds`
and the supervisor gives up: it stops all its children and exits with
reason `"shutdown"`, which its own supervisor sees as a child exit.

Restart backoff (beyond OTP, opt-in): `restart_delay=` on a child spec or
on the supervisor waits before restarting a child, a fixed number of
seconds or `otp.Supervisor.backoff(initial, maximum)` (doubling from
`initial` up to `maximum` for consecutive crashes; the count resets once a
child has stayed up for `max_seconds`). The child shows `pid=None` while
it waits. Each restart counts toward the intensity when it happens, so a
delay longer than `max_seconds / max_restarts` means a crash-looping child
is retried forever at that pace instead of taking the supervisor down:
choose the delay with that in mind. The default is OTP's immediate restart.

    >>> delay = otp.Supervisor.backoff(0.1, 1.0)
    >>> [delay(n) for n in (1, 2, 3, 4, 5)]
    [0.1, 0.2, 0.4, 0.8, 1.0]

Module style: subclass and return the children and flags from `init`;
trees nest, since a supervisor is a child like any other (its spec has
type `"supervisor"` and waits for it to stop: `shutdown=None`)::

    >>> class Workers(otp.Supervisor):
    ...     def init(self, arg):
    ...         return otp.SupervisorSpec([(Counter, arg)], strategy="rest_for_one")
    >>> async def main():
    ...     inner = otp.Supervisor.child_spec([(Counter, 1)], id="inner", max_restarts=1)
    ...     top = await otp.Supervisor.start_link([(Workers, 10), inner], name="top")
    ...     return [(c.id, c.type) for c in await otp.Supervisor.which_children("top")]
    >>> otp.run(main)  # doctest: +ELLIPSIS
    [(<class '...Workers'>, 'supervisor'), ('inner', 'supervisor')]

A stray `call` to a supervisor (anything but the functions here) crashes
it, as in OTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

from .._runtime._ids import Pid
from .._runtime._repr import show
from ._callback_names import check_callback_names
from ._child import Child, ChildSpec, RestartDelay, start_eagerly, to_spec
from ._gen_server import GenServer, call, stop
from ._results import Ignore
from ._supervisor_server import _SupervisorServer
from ._supervisor_spec import AutoShutdown, Strategy, SupervisorSpec, child_specs

if TYPE_CHECKING:
    from .._runtime._names import Dest

__all__ = ["AutoShutdown", "Strategy", "Supervisor", "SupervisorSpec"]

_START_OPTIONS = ("name", "timeout", "strategy", "max_restarts", "max_seconds", "auto_shutdown")


class Supervisor:
    """Start children, restart them as their specs say, stop them in order.

    Use `otp.Supervisor.start_link(children, ...)` directly, or subclass
    it and define `init(self, arg) -> otp.SupervisorSpec` (module style).
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        check_callback_names(cls, "Supervisor")

    def init(self, arg: Any, /) -> SupervisorSpec | Ignore:
        """Module style: return the children and flags, or `otp.Ignore()` not to start.

        >>> import otp
        >>> class Optional(otp.Supervisor):
        ...     def init(self, enabled):
        ...         return otp.SupervisorSpec([]) if enabled else otp.Ignore()
        >>> async def main():
        ...     return await Optional.start_link(False)
        >>> print(otp.run(main))
        None

        With `Ignore()`, `start_link` returns None and, as the child of
        another supervisor, the child is kept but not running (OTP's
        `ignore`), like a GenServer whose init ignores.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define init(self, arg) returning "
            f"otp.SupervisorSpec(children, strategy=...)"
        )

    # A children list never ignores, so that form returns a Pid; a module-style
    # supervisor's init may return Ignore(), so `MySup.start_link(arg)` may be None.
    @overload
    @classmethod
    async def start_link(
        cls,
        arg: Sequence[object],
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid: ...
    @overload
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid | None: ...
    @classmethod
    async def start_link(
        cls,
        arg: object = None,
        *,
        name: object = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        restart_delay: RestartDelay = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Start a supervisor linked to the caller, once all its children started.

        `otp.Supervisor.start_link(children, strategy=...)` takes the
        children list; a subclass passes `arg` to its `init`.

        Returns:
            The pid, or None when a subclass's `init` returned `otp.Ignore()`.

        Raises:
            StartError: a child failed to start (`.reason` is
                `("shutdown", ("failed_to_start_child", id, reason))`).
            AlreadyStarted: the name is taken.
        """
        if cls is Supervisor:
            if not isinstance(arg, Sequence) or isinstance(arg, str | bytes):
                raise TypeError(
                    f"otp.Supervisor.start_link needs a list of children; got {show(arg)}. "
                    f"For module style, subclass otp.Supervisor and define init."
                )
            # A bad child raises here, in the caller, rather than as a failed start.
            spec: SupervisorSpec | None = SupervisorSpec(
                child_specs(arg), strategy, max_restarts, max_seconds, auto_shutdown, restart_delay
            )
        else:
            spec = None
        return await _SupervisorServer.start_link((cls, arg, spec), name=name, timeout=timeout)

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A spec for this supervisor as a child of another (type supervisor, shutdown None).

        `opts` holds spec fields (`id=`, `restart=`, `shutdown=`, ...) and
        start options: `name=`, `timeout=`, and for the children-list form
        the flags `strategy=`, `max_restarts=`, `max_seconds=`, `auto_shutdown=`:
        `otp.Supervisor.child_spec([Worker], id="workers", strategy="one_for_all")`.
        (`restart_delay=` is the spec's: how long the parent waits to restart it.)
        """
        start_opts = {k: opts.pop(k) for k in _START_OPTIONS if k in opts}
        spec = ChildSpec(
            id=cls,
            start=lambda: cls.start_link(arg, **start_opts),  # type: ignore[call-overload]
            type="supervisor",
            shutdown=None,
        )
        return spec.replace(**opts) if opts else spec

    @staticmethod
    def backoff(initial: float, maximum: float, factor: float = 2.0) -> Callable[[int], float]:
        """An exponential restart delay: initial, initial*factor, ... capped at maximum.

        >>> import otp
        >>> delay = otp.Supervisor.backoff(0.1, 1.0)
        >>> [delay(n) for n in (1, 2, 3, 4, 5)]
        [0.1, 0.2, 0.4, 0.8, 1.0]
        """
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")

        def delay(attempt: int) -> float:
            return float(min(maximum, initial * factor ** max(0, attempt - 1)))

        return delay

    # -- client functions (OTP's supervisor module) -------------------------------

    @staticmethod
    async def which_children(sup: Dest) -> list[Child]:
        """`Child(id, pid, type, modules)` for each child, in start order."""
        result = await call(sup, ("$sup", "which_children"), None)
        assert isinstance(result, list)
        return result

    @staticmethod
    async def count_children(sup: Dest) -> dict[str, int]:
        """Counts: `specs`, `active`, `supervisors`, `workers`."""
        result = await call(sup, ("$sup", "count_children"), None)
        assert isinstance(result, dict)
        return result

    @staticmethod
    async def start_child(sup: Dest, child: object) -> Pid | None:
        """Add a child (spec, class or `(class, arg)`) at the end and start it.

        Returns the pid, or None when its init returned `Ignore()`.

        Raises:
            StartError: it failed to start, or its id is already present
                (reason `"already_present"` or `("already_started", pid)`).
        """
        return await _reply_or_raise(await call(sup, ("$sup", "start_child", to_spec(child)), None))

    @staticmethod
    async def terminate_child(sup: Dest, child_id: object) -> None:
        """Stop the child `child_id`; its spec stays (except for temporary children).

        Raises:
            KeyError: no child has that id.
        """
        await _reply_or_raise(await call(sup, ("$sup", "terminate_child", child_id), None))

    @staticmethod
    async def restart_child(sup: Dest, child_id: object) -> Pid | None:
        """Start again a child that was terminated with `terminate_child`.

        Raises:
            KeyError: no such child. StartError: it is running, or failed to start.
        """
        return await _reply_or_raise(await call(sup, ("$sup", "restart_child", child_id), None))

    @staticmethod
    async def delete_child(sup: Dest, child_id: object) -> None:
        """Remove the spec of a child that is not running.

        Raises:
            KeyError: no such child. StartError: it is running (`"running"`).
        """
        await _reply_or_raise(await call(sup, ("$sup", "delete_child", child_id), None))

    @staticmethod
    async def stop(sup: Dest, reason: object = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor with `reason`: its children first, then itself (`otp.stop`).

        >>> import otp
        >>> async def main():
        ...     sup = await otp.Supervisor.start_link([])
        ...     await otp.Supervisor.stop(sup)
        ...     return otp.is_alive(sup)
        >>> otp.run(main)
        False

        Elixir's `Supervisor.stop/3`. Waits at most `timeout` seconds (None:
        forever) for the exit; if the caller is cancelled, it still stops.

        Raises:
            NoProc: the supervisor is not alive.
            CallTimeout: it did not exit within `timeout` seconds.
        """
        await stop(sup, reason, timeout)


async def _reply_or_raise(result: object) -> Pid | None:
    if isinstance(result, BaseException):
        raise result
    assert result is None or isinstance(result, Pid)
    return result


# The library's own start functions run in a supervisor's step without a Task.
start_eagerly(GenServer.start_link, GenServer.start, Supervisor.start_link)
