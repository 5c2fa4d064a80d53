"""What a peer is started with: its name, its command line, and the config on its stdin.

`prepare` checks the arguments of `otp.peer.start_link` in the caller (so a
bad one fails there, saying what to pass) and gathers what the worker needs
from the starter: its distribution options, `sys.path` and main module.

The worker is `python [args] -m otp._peer._worker`. Its config (the cookie
included: secrets never go in argv or the environment, which other users
of the machine may read) is the first thing written to its stdin: a
header line holding the length, then that many bytes of pickle. The
header lets the worker read exactly the config and nothing more, so the
rest of stdin (the starter's "stop" line, or its end) reaches the
worker's event loop intact.

>>> peer_name("app@127.0.0.1", None).startswith("app-peer-")
True
>>> peer_name("app@127.0.0.1", "calc")
'calc@127.0.0.1'
>>> config = encode_config({"name": "calc@127.0.0.1"})
>>> decode_config(config[config.index(b"\\n") + 1 :])
{'name': 'calc@127.0.0.1'}
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from .._errors import NoConnection
from .._runtime._node_options import full_name
from .._runtime._repr import show
from .._runtime._scheduler import current_node, self_process
from ..distribution._node import Distribution
from ._main_module import MainModule, describe_main

#: The worker's entry point, run with `python -m`.
WORKER_MODULE: Final = "otp._peer._worker"
#: The tag of the worker's message to its control process: it is ready.
READY: Final = "$otp_peer_ready"


class WorkerConfig(TypedDict):
    """What the worker reads from its stdin: its node's settings and the starter's."""

    name: str
    cookie: str
    starter: str
    #: The control process's pid as (node, id, serial, creation), set by it.
    control: tuple[str, int, int, int] | None
    token: str  # in the ready message, so that it cannot be mistaken
    hidden: bool
    net_ticktime: float
    bind: str | None
    tls: object
    pickle: bool
    rpc: str | Sequence[str]
    sys_path: list[str]
    main: MainModule
    log_levels: dict[str, int]


@dataclass(frozen=True, slots=True)
class Setup:
    """One peer to start: its name, how to run it, and the config for its stdin."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    config: WorkerConfig
    timeout: float | None


def prepare(
    name: object,
    cookie: object,
    args: object,
    env: object,
    timeout: object,
    what: str = "otp.peer.start_link",
) -> Setup:
    """Check `start_link`'s arguments in the caller; the peer's `Setup`.

    Raises:
        NotInProcess: not called from an otp process.
        NoConnection: this node is not distributed.
        TypeError, ValueError: an argument of the wrong shape.
    """
    self_process(what)  # NotInProcess, naming `what`, outside a process
    dist = current_node(what).dist
    if not isinstance(dist, Distribution):
        raise NoConnection(
            "noconnection",
            f"{what} needs a distributed node (a peer connects back to the node that "
            f"started it): give this node a name, e.g. "
            f"otp.run(main, node='app@127.0.0.1'), or `async with otp.Node('app@127.0.0.1'):`",
        )
    full = peer_name(dist.name, name)
    cookie_text = _cookie(cookie, dist)
    extra = _args(args)
    variables = _env(env)
    if timeout is not None and (type(timeout) not in (int, float) or not timeout > 0):  # type: ignore[operator]
        raise ValueError(f"timeout must be seconds > 0 (or None: no limit); got {show(timeout)}")
    options = dist.options
    config: WorkerConfig = {
        "name": full,
        "cookie": cookie_text,
        "starter": dist.name,
        "control": None,  # the control process's pid, filled in by it
        "token": uuid.uuid4().hex,
        "hidden": options.hidden,
        "net_ticktime": options.net_ticktime,
        "bind": options.bind,
        "tls": options.tls,
        "pickle": options.pickle,
        "rpc": options.rpc,
        "sys_path": list(sys.path),
        "main": describe_main(),
        "log_levels": _log_levels(),
    }
    return Setup(
        full,
        (sys.executable, *extra, "-m", WORKER_MODULE),
        _environment(variables),
        config,
        None if timeout is None else float(timeout),  # type: ignore[arg-type]
    )


def peer_name(starter: str, name: object) -> str:
    """The full name of a peer of `starter`: `name`, on the starter's host if bare.

    None: the starter's name with `-peer-` and a random part, unique on the host.
    """
    alive, _, host = starter.partition("@")
    if name is None:
        return f"{alive}-peer-{uuid.uuid4().hex[:8]}@{host}"
    if not isinstance(name, str):
        raise TypeError(
            f"a peer's name is a str, 'name@host' or 'name' (for the starter's host), or "
            f"None for a unique one; got {show(name)}"
        )
    full = full_name(name if "@" in name else f"{name}@{host}")
    if full == starter:
        raise ValueError(
            f"a peer needs a name of its own; {name!r} is the name of the node starting it"
        )
    return full


def _cookie(cookie: object, dist: Distribution) -> str:
    if cookie is None:
        try:
            return dist.cookie.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - a cookie file of raw bytes
            raise ValueError(
                "this node's cookie is not UTF-8 text: pass the peer's cookie='...'"
            ) from None
    if not isinstance(cookie, str) or not cookie:
        raise ValueError(
            f"cookie must be a non-empty str (None: this node's cookie); got {show(cookie)}"
        )
    return cookie


def _args(args: object) -> tuple[str, ...]:
    if (
        isinstance(args, str | bytes)
        or not isinstance(args, Sequence)
        or not all(isinstance(a, str) for a in args)
    ):
        raise TypeError(
            f"args must be a sequence of str: extra arguments for the interpreter, "
            f"placed before the worker's module, such as ('-X', 'dev'); got {show(args)}"
        )
    return tuple(args)


def _env(env: object) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise TypeError(
            f"env must be a mapping of str to str (variables set over this process's "
            f"environment), such as {{'OMP_NUM_THREADS': '1'}}; got {show(env)}"
        )
    return dict(env)


def _environment(variables: dict[str, str]) -> dict[str, str]:
    """This process's environment, `variables` over it, and the worker's own settings.

    PYTHONPATH is the starter's `sys.path` ('' is the current directory,
    which the worker shares), after any PYTHONPATH given in `variables`;
    output is unbuffered so that each line reaches the starter's log at once.
    """
    env = {**os.environ, **variables}
    path = [entry or os.getcwd() for entry in sys.path]
    if "PYTHONPATH" in variables:
        path.insert(0, variables["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_levels() -> dict[str, int]:
    """The levels the worker's loggers get: the starter's root and `otp` levels."""
    return {
        "": logging.getLogger().getEffectiveLevel(),
        "otp": logging.getLogger("otp").getEffectiveLevel(),
    }


def encode_config(config: Mapping[str, object]) -> bytes:
    """The config as written to the worker's stdin: its length on a line, then it."""
    data = pickle.dumps(config)
    return b"%d\n" % len(data) + data


def decode_config(data: bytes) -> Any:
    """The config that `encode_config` wrote (without its length line)."""
    return pickle.loads(data)


def read_config(fd: int = 0) -> WorkerConfig:
    """Read the config from `fd`, without reading a byte past it.

    Raises:
        EOFError: `fd` ended first (the starter is gone).
    """
    header = b""
    while not header.endswith(b"\n"):
        header += _read(fd, 1)
    size = int(header)
    data = b""
    while len(data) < size:
        data += _read(fd, size - len(data))
    config: WorkerConfig = decode_config(data)
    return config


def _read(fd: int, n: int) -> bytes:
    chunk = os.read(fd, n)
    if not chunk:
        raise EOFError("stdin ended before the peer's config was read")
    return chunk


__all__ = ["READY", "WORKER_MODULE", "Setup", "WorkerConfig", "peer_name", "prepare", "read_config"]
