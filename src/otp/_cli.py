"""The `otp` command (`python -m otp`): run an application, observe a node, list nodes.

    otp run examples.app:main --name app@127.0.0.1 --observer 8000
    otp observer app@127.0.0.1
    otp nodes

Each command is a small function of its parsed arguments that returns the
process's exit status; `main` parses and dispatches. The commands use only
what users use: `otp.run`, `otp.connect`, `otp.observer` and epmd's list.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

#: Exit statuses, as the shell reads them.
OK, CRASHED, USAGE = 0, 1, 2
SIGINT_STATUS, SIGTERM_STATUS = 130, 143

_TOP = """\
Run otp applications and look inside running nodes.

examples:
  otp run examples.app:main                   run the example application
  otp run myapp:App --name app@127.0.0.1      a Supervisor, as a named node
  otp run myapp:main --observer 8000          with its dashboard on :8000
  otp observer app@127.0.0.1                  the dashboard of that node
  otp nodes                                   what runs on this machine

`otp COMMAND --help` tells more about each command.
"""

_RUN = """\
FUNCTION is an `async def` function taking no arguments (its return
value, an int, becomes the exit status), or a GenServer or Supervisor
class, started with `start_link(None)` and run until it stops. Arguments
after `--` are left in sys.argv for the application's own parser:

  otp run myapp:main -- --verbose input.csv

The current directory is on the import path, as with `python -m`.
Ctrl-C or SIGTERM stops the application gracefully: supervisors stop
their children in reverse start order and `terminate` callbacks run; a
second signal kills every process at once.

exit status:
  0    the function returned (or the application stopped normally)
  1    it crashed, or the application stopped with another reason
  2    bad arguments, or MODULE:FUNCTION could not be loaded
  130  stopped by Ctrl-C (SIGINT);  143  stopped by SIGTERM
"""

_OBSERVER = """\
Starts a hidden node (not in the observed node's `nodes()`), connects to
NODE with the cookie, and serves NODE's dashboard (and those of the nodes
it sees) until Ctrl-C. The observed node needs nothing installed beyond
otp (an Erlang or Elixir node works too, with fewer pages); only the
observing side needs the web extra: pip install 'otp[observer]'.

  otp observer app@127.0.0.1 --port 8001
  otp observer app@10.0.0.5 --host 0.0.0.0 --cookie "$COOKIE"

Bound to 127.0.0.1 unless --host says otherwise; on another address a
random token is made (or --token is used) and the URL printed carries it.

exit status: 0 after Ctrl-C or SIGTERM; 1 when NODE cannot be reached;
2 for bad arguments or a missing extra.
"""

_NODES = """\
Asks epmd (the Erlang port mapper, port 4369) of HOST which nodes are
registered there, as `epmd -names` does, and prints one per line.

exit status: 0 when epmd answered (even with no nodes); 1 when no epmd
runs on HOST.
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, with help that teaches."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="otp", description=_TOP, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"otp {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run an application", description=_RUN, formatter_class=raw
    )
    run.add_argument("target", metavar="MODULE:FUNCTION", help="what to run, e.g. myapp:main")
    _node_arguments(run, name_help="make the node distributed as NAME (name@host)")
    run.add_argument(
        "--observer",
        metavar="PORT",
        type=_port,
        help="serve the live dashboard on PORT (0: any free port); needs otp[observer]",
    )
    _log_argument(run)

    observer = commands.add_parser(
        "observer",
        help="serve the dashboard of a running node",
        description=_OBSERVER,
        formatter_class=raw,
    )
    observer.add_argument("node", metavar="NODE", help="the node to observe, name@host")
    _node_arguments(observer, name_help="the observing node's name (default: a fresh one)")
    observer.add_argument("--port", type=_port, default=8000, help="HTTP port (8000; 0: any)")
    observer.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    observer.add_argument("--token", help="the token the page needs (default: none on loopback)")
    observer.add_argument(
        "--allow-kill", action="store_true", help="show a button that kills a process"
    )
    _log_argument(observer)

    nodes = commands.add_parser(
        "nodes", help="list the nodes epmd knows", description=_NODES, formatter_class=raw
    )
    nodes.add_argument("--host", default="127.0.0.1", help="whose epmd to ask (127.0.0.1)")
    return parser


def _node_arguments(parser: argparse.ArgumentParser, name_help: str) -> None:
    parser.add_argument("--name", metavar="NAME", help=name_help)
    parser.add_argument(
        "--cookie", help="the cluster's cookie (default: ~/.erlang.cookie, as erl reads it)"
    )


def _log_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="what the log shows on stderr (info: starts, crashes and restarts)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number 0-65535; got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number 0-65535; got {port}")
    return port


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("otp")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: the command line), run the command, return its status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # What follows `--` is the application's own command line (`otp run` only).
    rest: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, rest = argv[:at], argv[at + 1 :]
    args = parser.parse_args(argv)
    args.args = rest
    if args.command is None:
        parser.print_help()
        return USAGE
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": run_command,
        "observer": observer_command,
        "nodes": nodes_command,
    }
    return commands[args.command](args)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _fail(message: str, status: int) -> int:
    print(f"otp: {message}", file=sys.stderr)
    return status


# -- otp run ------------------------------------------------------------------------


def load_target(spec: str) -> object:
    """Import `module:attribute`, with the current directory on the import path.

    Raises:
        ValueError: `spec` is not `module:attribute` or cannot be loaded;
            the message says which part failed and what to check.
    """
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(
            f"expected MODULE:FUNCTION, e.g. myapp:main or examples.app:main; got {spec!r}"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"cannot import module {module_name!r} ({exc}); run otp from the folder that "
            f"holds it, or install it"
        ) from exc
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(
                f"module {module_name!r} has no {attribute!r}; it has: "
                f"{', '.join(sorted(n for n in vars(module) if not n.startswith('_')))}"
            ) from None
    return target


def as_main(target: object, spec: str) -> Callable[[], Any]:
    """The `main` that `otp.run` runs for `target`: itself, or one that runs a server."""
    from ._behaviours._gen_server import GenServer
    from ._behaviours._supervisor import Supervisor

    if isinstance(target, type) and issubclass(target, GenServer | Supervisor):
        server = target

        async def run_server() -> int:
            return await _run_until_stopped(server)

        return run_server
    if inspect.iscoroutinefunction(target) and not _needs_arguments(target):
        return target
    raise ValueError(
        f"{spec} must be an async def function without arguments, or a GenServer or "
        f"Supervisor class; got {target!r}"
    )


def _needs_arguments(fn: Callable[..., object]) -> bool:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in signature.parameters.values()
    )


async def _run_until_stopped(server: type[Any]) -> int:
    """Start `server` linked to main, then wait until it stops; its reason sets the status."""
    import otp

    otp.trap_exit(True)  # a stop of the server, or of main, arrives as a message
    pid = await server.start_link(None)
    exited = await otp.receive(match=lambda m: isinstance(m, otp.Exited))
    assert isinstance(exited, otp.Exited)
    if exited.pid != pid:  # otp.run's "shutdown" on SIGINT/SIGTERM: stop the tree first
        await otp.stop(pid, "shutdown")
        return OK
    if exited.reason == "normal":
        return OK
    logging.getLogger("otp").error(
        "The application %s stopped with reason %r", server.__qualname__, exited.reason
    )
    return CRASHED


def run_command(args: argparse.Namespace) -> int:
    """`otp run MODULE:FUNCTION`: the function's outcome as an exit status."""
    import otp

    try:
        main_fn = as_main(load_target(args.target), args.target)
    except ValueError as exc:
        return _fail(str(exc), USAGE)
    sys.argv = [args.target.partition(":")[0], *args.args]
    _setup_logging(args.log_level)
    options: dict[str, Any] = {"node": args.name, "cookie": args.cookie}
    if args.observer is not None:
        options["observer"] = args.observer
    started: list[bool] = []

    async def application() -> object:
        started.append(True)
        return await main_fn()

    try:
        result = otp.run(application, **options)
    except KeyboardInterrupt:
        return SIGINT_STATUS  # the graceful shutdown has run
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else CRASHED
    except BaseException as exc:
        if not started and isinstance(exc, ValueError | TypeError):
            return _fail(str(exc), USAGE)  # otp.run refused an option: no traceback
        traceback.print_exception(exc)
        return _fail(f"{args.target} crashed: {exc!r}", CRASHED)
    return result if type(result) is int else OK


# -- otp observer ---------------------------------------------------------------------


def observer_command(args: argparse.Namespace) -> int:
    """`otp observer NODE`: attach as a hidden node, serve the dashboard until stopped."""
    import otp
    import otp.observer as observer

    from ._runtime._node_options import full_name

    try:
        node = full_name(args.node)
    except ValueError as exc:
        return _fail(str(exc), USAGE)
    host = node.partition("@")[2]
    name = args.name or f"otp-observer-{os.getpid()}@{host}"
    _setup_logging(args.log_level)
    outcome: list[int] = []

    async def observe() -> None:
        if not await otp.connect(node):
            outcome.append(
                _fail(
                    f"cannot reach {node}: check that it runs (otp nodes --host {host}) and "
                    f"that both use the same cookie (--cookie, or ~/.erlang.cookie)",
                    CRASHED,
                )
            )
            return
        try:
            obs = await observer.start_link(
                port=args.port,
                host=args.host,
                token=args.token,
                allow_kill=args.allow_kill,
                focus=node,
            )
        except ImportError as exc:
            outcome.append(_fail(str(exc), USAGE))
            return
        print(f"Observing {node}: {obs.url}  (Ctrl-C stops)", flush=True)
        otp.monitor_node(node)
        while True:
            msg = await otp.receive()
            if isinstance(msg, otp.NodeDown):
                logging.getLogger("otp").warning(
                    "Lost the connection to %s; the dashboard shows it as unreachable", node
                )

    try:
        otp.run(observe, node=name, cookie=args.cookie)
    except (KeyboardInterrupt, SystemExit):
        return OK
    except OSError as exc:
        return _fail(f"cannot serve on {args.host}:{args.port}: {exc}", CRASHED)
    return outcome[0] if outcome else OK


# -- otp nodes --------------------------------------------------------------------------


def nodes_command(args: argparse.Namespace) -> int:
    """`otp nodes`: epmd's names on a host, one `name@host  port N` per line."""
    from .distribution._epmd import EpmdUnavailable, names

    try:
        found = asyncio.run(names(args.host))
    except EpmdUnavailable as exc:
        return _fail(f"no nodes: {exc}", CRASHED)
    if not found:
        print(f"no nodes are registered with epmd on {args.host}")
    for name, port in found:
        print(f"{name}@{args.host}  port {port}")
    return OK
