"""Call functions on other nodes: Erlang's `erpc`, for Erlang, Elixir and Python nodes.

>>> import otp
>>> async def main():
...     return await otp.erpc.call(otp.node(), "operator", "add", [1, 2])
>>> otp.run(main, node="erpc_doc@127.0.0.1")
3

`call(node, module, function, args)` runs `module:function(*args)` on
`node` and returns its result: `otp.erpc.call("ex@h", "Elixir.String",
"upcase", ["hi"])` on an Elixir node, `otp.erpc.call("py@h", "pkg.mod",
"fun", [1])` on a Python node (which imports `pkg.mod`). A Python callable
may stand for the module and function: `otp.erpc.call("py@h", fun, [1])`;
a function defined at a module's top level travels by name, any other
callable pickled (Python nodes only).

What the call raises when it does not return:

- `otp.RemoteError`: the function raised an error (`.reason`, `.stack`);
  Erlang's reason (`badarg`, `undef`...) or, from a Python node,
  `("python", "ValueError", "the message")`;
- `otp.RemoteThrow`: it threw `.reason` (Erlang's `throw/1`);
- `otp.RemoteExit`: it exited with `.reason`, or an exit signal killed it
  (`.signal` is True);
- `otp.SpawnError`: the node refused to start the process;
- `otp.NoConnection`: the node cannot be reached, or the connection was
  lost during the call (raised at once);
- `otp.CallTimeout`: no result within `timeout` seconds (None: no limit).
  The function may still run there; its late result is dropped.

Cancelling the caller leaves the function running on the other node.
`cast` starts the function and waits for nothing; errors are reported by
the other node only (its logger), as Erlang's `erpc:cast`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import overload

from .distribution import _erpc

__all__ = ["call", "cast"]


@overload
async def call(
    node: str,
    module: str,
    function: str,
    args: Sequence[object] = (),
    *,
    timeout: float | None = 5.0,
) -> object: ...
@overload
async def call(
    node: str,
    fn: Callable[..., object],
    args: Sequence[object] = (),
    /,
    *,
    timeout: float | None = 5.0,
) -> object: ...
async def call(
    node: str,
    module: str | Callable[..., object],
    function: str | Sequence[object] = (),
    args: Sequence[object] = (),
    *,
    timeout: float | None = 5.0,
) -> object:
    """Run `module:function(*args)` on `node` and return its result (module docstring).

    Waits at most `timeout` seconds (None: forever), then raises CallTimeout.

    Raises:
        RemoteError, RemoteThrow, RemoteExit: the function failed there.
        SpawnError, NoConnection, CallTimeout: it could not run, or no result came.
        TypeError: the target or the arguments cannot be sent.
    """
    return await _erpc.call(_erpc.distribution(), node, module, function, args, timeout)


@overload
def cast(node: str, module: str, function: str, args: Sequence[object] = ()) -> None: ...
@overload
def cast(node: str, fn: Callable[..., object], args: Sequence[object] = (), /) -> None: ...
def cast(
    node: str,
    module: str | Callable[..., object],
    function: str | Sequence[object] = (),
    args: Sequence[object] = (),
) -> None:
    """Start `module:function(*args)` on `node` and return at once (Erlang's `erpc:cast`)."""
    _erpc.cast(_erpc.distribution(), node, module, function, args)
