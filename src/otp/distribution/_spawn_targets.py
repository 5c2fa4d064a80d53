"""What a spawn request from another node runs here, and how its failures look to Erlang.

A spawn request names `{Module, Function, Arity}`. On this node the module
is a Python module (the atom `'pkg.mod'`, imported with importlib) and the
function one of its attributes, called with the request's arguments; a
plain function returns its result, an `async def` one is awaited. A few
MFAs are Erlang's own and are emulated here, since that is what Erlang
sends for its remote operations:

- `erpc:execute_call(Ref, M, F, A)`: what `:erpc.call` and `:rpc.call` spawn.
  The process runs `M:F(A)` and exits with `{Ref, return, Value}`, `{Ref,
  throw, Value}`, `{Ref, exit, Reason}` or `{Ref, error, Reason, Stack}`,
  which the caller's monitor turns back into the result or the exception.
- `erpc:execute_call(M, F, A)` (`{return, Value}`), `erpc:execute_cast(M, F,
  A)`, `erlang:apply(M, F, A)`.
- `erlang:apply(Fun, Args)`: a Python callable sent pickled by another
  Python node (`otp.spawn(lambda_or_partial, node=...)`); an Erlang fun
  cannot run here and fails with `badfun`.

How failures look to Erlang:

- a module that cannot be imported, or a missing function: `undef` with the
  stack `[{M, F, Args, []}]`, as Erlang reports it;
- a module outside this node's `rpc=` allow-list: the error
  `{rpc_not_allowed, Module, AllowList}`; a pickled callable when the node
  has `pickle=False` or a limited `rpc=`: `{rpc_not_allowed, pickle, ...}`;
- a Python exception: the error `{python, <<"ValueError">>, <<"message">>}`
  (the class, qualified by its module unless it is a builtin) with the
  Python stack as Erlang stack frames `{Module, Function, Arity, [{file,
  File}, {line, Line}]}`;
- `raise otp.Exit(reason)`: the `exit` class; `raise otp.RemoteThrow(value)`:
  `throw`; `raise otp.RemoteError(reason, stack=...)`: that error.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final, cast

from .._errors import Exit, RemoteError, RemoteExit, RemoteThrow
from .._runtime._terms import Atom, Fun
from ._control import encodes, wire_reason

if TYPE_CHECKING:
    from ._node import Distribution

RETURN: Final = Atom("return")
THROW: Final = Atom("throw")
EXIT: Final = Atom("exit")
ERROR: Final = Atom("error")
_UNDEF: Final = Atom("undef")
_PYTHON: Final = Atom("python")
_NOT_ALLOWED: Final = Atom("rpc_not_allowed")
_FILE: Final = Atom("file")
#: Starts a GenServer for another node (`GenServer.start(node=...)`): it checks
#: the class's module against the allow-list itself.
_CHECKS_ITSELF: Final = "otp._behaviours._remote_start"
_LINE: Final = Atom("line")


class Failure(Exception):
    """A target that cannot run here: its Erlang error `reason` and `stack`."""

    def __init__(self, reason: object, stack: list[object]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stack = stack


def allowed(dist: Distribution, module: str) -> bool:
    """Whether this node's `rpc=` option lets other nodes run functions of `module`."""
    rpc = dist.options.rpc
    return (isinstance(rpc, str) and rpc == "*") or (not isinstance(rpc, str) and module in rpc)


def refuse(dist: Distribution, module: object, function: object, args: list[object]) -> Failure:
    """The `rpc_not_allowed` failure of a module outside the allow-list."""
    rpc = dist.options.rpc
    listed = [str(m) for m in rpc] if not isinstance(rpc, str) else [rpc]
    return Failure((_NOT_ALLOWED, module, listed), [(module, function, args, [])])


def resolve(
    dist: Distribution, module: object, function: object, args: list[object]
) -> Callable[..., object]:
    """The Python callable that `module:function(args)` names here; raises Failure."""
    special = _SPECIAL.get((module, function, len(args))) if type(module) is Atom else None
    if special is not None:
        return lambda *a: special(dist, *a)
    if type(module) is not Atom or type(function) is not Atom:
        raise Failure(Atom("badarg"), [(module, function, args, [])])
    if not allowed(dist, module) and module != _CHECKS_ITSELF:
        raise refuse(dist, module, function, args)
    found: object
    try:
        found = getattr(importlib.import_module(module), function, None)
    except ImportError:
        found = None
    if not callable(found):
        raise Failure(_UNDEF, [(module, function, args, [])])
    return cast("Callable[..., object]", found)


async def apply(dist: Distribution, module: object, function: object, args: object) -> object:
    """Run `module:function(args)` as a spawned process does: the function's result."""
    if type(args) is not list:
        raise Failure(Atom("badarg"), [(module, function, args, [])])
    target = resolve(dist, module, function, args)
    result = target(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def python_error(exc: BaseException) -> tuple[object, list[object]]:
    """A Python exception as an Erlang error: `{python, Class, Message}` and a stack."""
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ != "builtins" or getattr(builtins, name, None) is not cls:
        name = f"{cls.__module__}.{name}"
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not stop the reply
        message = ""
    return (_PYTHON, name, message), stack_of(exc.__traceback__)


def stack_of(tb: TracebackType | None) -> list[object]:
    """A traceback as Erlang stack frames, innermost first (as Erlang lists them)."""
    frames: list[object] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        module = tb.tb_frame.f_globals.get("__name__", "?")
        if module != __name__:
            location = [(_FILE, [ord(c) for c in code.co_filename]), (_LINE, tb.tb_lineno)]
            frames.append((Atom(str(module)), Atom(code.co_name), code.co_argcount, location))
        tb = tb.tb_next
    frames.reverse()
    return frames


async def execute_call(
    dist: Distribution, ref: object, module: object, function: object, args: object
) -> None:
    """`erpc:execute_call/4`: run the function, then exit with its outcome tagged by `ref`."""
    reply: tuple[object, ...]
    try:
        value = await apply(dist, module, function, args)
        reply = (ref, RETURN, value)
    except Failure as exc:
        reply = (ref, ERROR, exc.reason, exc.stack)
    except RemoteThrow as exc:
        reply = (ref, THROW, exc.reason)
    except RemoteError as exc:
        reply = (ref, ERROR, exc.reason, exc.stack)
    except RemoteExit as exc:
        reply = (ref, EXIT, wire_reason(exc.reason))
    except Exit as exc:
        reply = (ref, EXIT, wire_reason(exc.reason))
    except Exception as exc:
        reason, stack = python_error(exc)
        reply = (ref, ERROR, reason, stack)
    if not encodes(reply):
        # The result has no Erlang form and cannot be pickled (a lambda...):
        # the caller gets an error saying so instead of no answer.
        reason = (_PYTHON, "TypeError", f"the result of {module}:{function} cannot be sent")
        reply = (ref, ERROR, reason, [])
    raise Exit(reply)


async def _execute_call_3(
    dist: Distribution, module: object, function: object, args: object
) -> object:
    return (RETURN, await apply(dist, module, function, args))


async def _apply_3(dist: Distribution, module: object, function: object, args: object) -> object:
    return await apply(dist, module, function, args)


async def _apply_fun(dist: Distribution, fun: object, args: object) -> object:
    if isinstance(fun, Fun) or not callable(fun) or type(args) is not list:
        raise Failure((Atom("badfun"), fun), [])
    if not dist.options.pickle or not allowed(dist, "*"):
        raise Failure(
            (_NOT_ALLOWED, Atom("pickle"), _listed(dist.options.rpc)),
            [(Atom("erlang"), Atom("apply"), 2, [])],
        )
    result = fun(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _listed(rpc: str | Sequence[str]) -> list[str]:
    return [rpc] if isinstance(rpc, str) else [str(m) for m in rpc]


_Special = Callable[..., object]

#: The MFAs of Erlang's own remote operations, emulated (see the module docstring).
_SPECIAL: dict[tuple[object, object, int], _Special] = {
    (Atom("erpc"), Atom("execute_call"), 4): execute_call,
    (Atom("erpc"), Atom("execute_call"), 3): _execute_call_3,
    (Atom("erpc"), Atom("execute_cast"), 3): _apply_3,
    (Atom("erlang"), Atom("apply"), 3): _apply_3,
    (Atom("erlang"), Atom("apply"), 2): _apply_fun,
}


def add_special(module: str, function: str, arity: int, run: _Special) -> None:
    """Make `module:function/arity` run `run(dist, *args)` (an otp function that checks itself)."""
    _SPECIAL[(Atom(module), Atom(function), arity)] = run


__all__ = [
    "ERROR",
    "EXIT",
    "RETURN",
    "THROW",
    "Failure",
    "add_special",
    "allowed",
    "apply",
    "execute_call",
    "python_error",
    "refuse",
    "resolve",
    "stack_of",
]
