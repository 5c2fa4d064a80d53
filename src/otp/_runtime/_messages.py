"""Messages the runtime itself delivers to processes, and name types."""

from __future__ import annotations

from typing import NamedTuple, final

from ._ids import Pid, Ref


@final
class Down(NamedTuple):
    """Delivered to a monitoring process when the monitored one exits.

    `reason` is `"noproc"` when the target was already dead, and
    `"noconnection"` when its node became unreachable.
    """

    ref: Ref
    pid: object
    reason: object


@final
class Exited(NamedTuple):
    """An exit signal from `pid`, delivered as a message to a process that traps exits."""

    pid: Pid
    reason: object


@final
class Via(NamedTuple):
    """Names a process through a registry: `otp.Via(registry, key)`.

    Accepted wherever a server or destination is: `start_link(name=...)`,
    `call`, `cast`, `send`, `stop`, `whereis`.
    """

    registry: object
    key: object


@final
class Global(NamedTuple):
    """A cluster-wide name: Erlang's `{global, Name}` (see `otp.distribution._global`).

    Accepted wherever a name is: `start_link(name=...)`, `call`, `cast`,
    `send`, `stop`, `whereis`. On a visible node the name is registered on
    every connected Erlang, Elixir and Python node. A hidden node registers
    and looks up through a visible node it is connected to (see
    `otp.distribution._global_hidden`); there `whereis` sees this node's
    names only, and a send or cast to a name nobody holds is dropped
    instead of raising; with no visible node connected, names are this
    node's only. A `str` name is an atom on the wire.
    """

    name: object
