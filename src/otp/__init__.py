"""Erlang/Elixir OTP for Python: processes, GenServer and supervision on asyncio.

>>> import otp
>>> class Counter(otp.GenServer):
...     def init(self, start):
...         return start
...     def handle_call(self, request, from_, state):
...         return otp.Reply(state + 1, state + 1)
>>> async def main():
...     pid = await Counter.start_link(0)
...     return await otp.call(pid, "increment")
>>> otp.run(main)
1
"""

from . import erpc as erpc
from . import from_thread as from_thread
from . import observer as observer
from . import peer as peer
from . import sys as sys
from . import telemetry as telemetry
from ._behaviours._agent import Agent as Agent
from ._behaviours._child import Child as Child
from ._behaviours._child import ChildSpec as ChildSpec
from ._behaviours._dynamic_supervisor import DynamicSupervisor as DynamicSupervisor
from ._behaviours._gen_server import From as From
from ._behaviours._gen_server import GenServer as GenServer
from ._behaviours._gen_server import call as call
from ._behaviours._gen_server import cast as cast
from ._behaviours._gen_server import reply as reply
from ._behaviours._gen_server import stop as stop
from ._behaviours._partition_supervisor import PartitionSupervisor as PartitionSupervisor
from ._behaviours._registry import Registry as Registry
from ._behaviours._results import Ignore as Ignore
from ._behaviours._results import NoReply as NoReply
from ._behaviours._results import Ok as Ok
from ._behaviours._results import Reply as Reply
from ._behaviours._results import Stop as Stop
from ._behaviours._supervisor import Supervisor as Supervisor
from ._behaviours._supervisor import SupervisorSpec as SupervisorSpec
from ._behaviours._table import Table as Table
from ._behaviours._task import Task as Task
from ._behaviours._task_supervisor import TaskSupervisor as TaskSupervisor
from ._errors import AlreadyRegistered as AlreadyRegistered
from ._errors import AlreadyStarted as AlreadyStarted
from ._errors import CallbackWarning as CallbackWarning
from ._errors import CallTimeout as CallTimeout
from ._errors import Exit as Exit
from ._errors import MaxChildren as MaxChildren
from ._errors import NoConnection as NoConnection
from ._errors import NoProc as NoProc
from ._errors import NotInProcess as NotInProcess
from ._errors import RemoteError as RemoteError
from ._errors import RemoteException as RemoteException
from ._errors import RemoteExit as RemoteExit
from ._errors import RemoteThrow as RemoteThrow
from ._errors import SpawnError as SpawnError
from ._errors import StartError as StartError
from ._errors import TableError as TableError
from ._runtime._ids import Pid as Pid
from ._runtime._ids import Ref as Ref
from ._runtime._ids import TimerRef as TimerRef
from ._runtime._mailbox import receive as receive
from ._runtime._mailbox import send as send
from ._runtime._messages import Down as Down
from ._runtime._messages import Exited as Exited
from ._runtime._messages import Global as Global
from ._runtime._messages import Via as Via
from ._runtime._names import register as register
from ._runtime._names import registered as registered
from ._runtime._names import unregister as unregister
from ._runtime._names import whereis as whereis
from ._runtime._node import Node as Node
from ._runtime._run import run as run
from ._runtime._scheduler import current_node as _current_node
from ._runtime._signals import demonitor as demonitor
from ._runtime._signals import exit as exit
from ._runtime._signals import link as link
from ._runtime._signals import monitor as monitor
from ._runtime._signals import trap_exit as trap_exit
from ._runtime._signals import unlink as unlink
from ._runtime._spawning import is_alive as is_alive
from ._runtime._spawning import make_ref as make_ref
from ._runtime._spawning import process_info as process_info
from ._runtime._spawning import processes as processes
from ._runtime._spawning import self as self
from ._runtime._spawning import spawn as spawn
from ._runtime._spawning import spawn_link as spawn_link
from ._runtime._spawning import spawn_monitor as spawn_monitor
from ._runtime._terms import Atom as Atom
from ._runtime._terms import Port as Port
from ._runtime._timers import cancel_timer as cancel_timer
from ._runtime._timers import read_timer as read_timer
from ._runtime._timers import send_after as send_after
from .distribution import _pg as pg
from .distribution._multi_call import abcast as abcast
from .distribution._multi_call import multi_call as multi_call
from .distribution._node import NodeDown as NodeDown
from .distribution._nodes import connect as connect
from .distribution._nodes import disconnect as disconnect
from .distribution._nodes import monitor_node as monitor_node
from .distribution._nodes import nodes as nodes
from .distribution._tls import TLS as TLS
from .distribution._undecodable import Undecodable as Undecodable
from .distribution._undecodable import UndecodableMessage as UndecodableMessage


def node() -> str:
    """The name of this node (`"nonode@nohost"` when not distributed)."""
    return _current_node("otp.node").name


__all__ = [
    "Agent",
    "AlreadyRegistered",
    "AlreadyStarted",
    "Atom",
    "CallTimeout",
    "CallbackWarning",
    "Child",
    "ChildSpec",
    "Down",
    "DynamicSupervisor",
    "Exit",
    "Exited",
    "From",
    "GenServer",
    "Global",
    "Ignore",
    "MaxChildren",
    "NoConnection",
    "NoProc",
    "NoReply",
    "Node",
    "NodeDown",
    "NotInProcess",
    "Ok",
    "PartitionSupervisor",
    "Pid",
    "Port",
    "Ref",
    "Registry",
    "Reply",
    "RemoteError",
    "RemoteException",
    "RemoteExit",
    "RemoteThrow",
    "SpawnError",
    "StartError",
    "Stop",
    "Supervisor",
    "SupervisorSpec",
    "TLS",
    "Table",
    "TableError",
    "TaskSupervisor",
    "Task",
    "TimerRef",
    "Undecodable",
    "UndecodableMessage",
    "Via",
    "abcast",
    "call",
    "cancel_timer",
    "cast",
    "connect",
    "demonitor",
    "disconnect",
    "exit",
    "from_thread",
    "is_alive",
    "link",
    "make_ref",
    "monitor",
    "monitor_node",
    "multi_call",
    "node",
    "nodes",
    "observer",
    "peer",
    "pg",
    "process_info",
    "processes",
    "read_timer",
    "receive",
    "register",
    "registered",
    "reply",
    "run",
    "self",
    "send",
    "send_after",
    "spawn",
    "spawn_link",
    "spawn_monitor",
    "stop",
    "erpc",
    "sys",
    "telemetry",
    "trap_exit",
    "unlink",
    "unregister",
    "whereis",
]


def _fixup_module_metadata() -> None:
    """Make tracebacks and reprs say `otp.NoProc`, not `otp._errors.NoProc`.

    doctest only looks at functions and inside classes that claim the module
    being searched, so each class and function is also listed in its
    defining module's `__test__`: the examples in their docstrings keep
    running.
    """
    import inspect
    import sys

    for name in __all__:
        obj = globals()[name]
        defining = getattr(obj, "__module__", "")
        if defining.startswith("otp."):
            if isinstance(obj, type) or inspect.isfunction(obj):
                tests = sys.modules[defining].__dict__.setdefault("__test__", {})
                tests.setdefault(name, obj)
            try:
                obj.__module__ = "otp"
            except (AttributeError, TypeError):  # pragma: no cover - builtins
                pass


_fixup_module_metadata()
