"""Where each view's data comes from: this node, another otp node, or an Erlang node.

This node runs `_probe`'s functions in place. Another node is asked with
`otp.erpc.call(node, "otp.observer._probe", fn, args)`; when that module
is missing there and the node answers `erlang:system_info(otp_release)`,
it is an Erlang or Elixir node, read through `_erlang.ErlangNode` from
then on.
"""

from __future__ import annotations

from typing import Any

import otp
from otp import Atom

from . import _erlang, _probe
from ._erlang import NotAvailable

PROBE = "otp.observer._probe"


def _plain(value: object) -> Any:
    """A term from another node, with atoms and binaries as str (JSON-ready)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Atom):
        text = str(value)
        return None if text in ("undefined", "nil") else text
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode(errors="replace")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class Sources:
    """One per observer: remembers which connected nodes are Erlang nodes."""

    def __init__(self) -> None:
        self.erlang: dict[str, _erlang.ErlangNode] = {}

    async def call(self, node: str, fn: str, *args: object) -> Any:
        """`_probe.<fn>(*args)` on `node`, or its Erlang equivalent there."""
        if node == otp.node():
            result = getattr(_probe, fn)(*args)
            return await result if hasattr(result, "__await__") else result
        erl = self.erlang.get(node)
        if erl is None:
            try:
                return _plain(await otp.erpc.call(node, PROBE, fn, list(args), timeout=5.0))
            except otp.RemoteException:
                if not await self._is_erlang(node):
                    raise
            erl = self.erlang[node] = _erlang.ErlangNode(node)
        method = getattr(erl, fn, None)
        if method is None:
            raise NotAvailable(f"the {fn} view is not available for Erlang nodes")
        return _plain(await method(*args))

    async def _is_erlang(self, node: str) -> bool:
        try:
            await otp.erpc.call(node, "erlang", "system_info", [Atom("otp_release")], timeout=5.0)
        except otp.Exit:
            return False
        return True

    def kind(self, node: str) -> str:
        return "erlang" if node in self.erlang else "python"


__all__ = ["NotAvailable", "Sources"]
