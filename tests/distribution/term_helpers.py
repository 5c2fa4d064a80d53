"""Shared by the term codec tests: the reference vectors and a strict comparison.

Python's `==` is too lenient to test a codec: `Atom("a") == "a"`, `True == 1`,
`1 == 1.0`, and pids compare by identity. `same` compares the way Erlang's
`=:=` does: types must match exactly, pids compare by their fields.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otp import Pid
from otp._runtime._ids import Ref, _new_ref, _new_remote_pid
from otp._runtime._terms import _new_port
from otp.distribution import (
    Atom,
    BitBinary,
    DecodeError,
    Export,
    FrozenList,
    FrozenMap,
    Fun,
    ImproperList,
    Port,
    StrictMap,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (pathlib.Path(__file__).parent / "term_vectors.json").read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class FunSpec:
    """The expected value of a fun: where it was defined."""

    module: str
    arity: int


def pid(node: str, id_: int, serial: int, creation: int) -> Pid:
    return _new_remote_pid(node, id_, serial, creation)


def ref(node: str, creation: int, ids: list[int] | tuple[int, ...]) -> Ref:
    return _new_ref(node, creation, tuple(ids))


def port(node: str, id_: int, creation: int) -> Port:
    return _new_port(node, id_, creation)


NAMESPACE: dict[str, object] = {
    "Atom": Atom,
    "BitBinary": BitBinary,
    "DecodeError": DecodeError,
    "Export": Export,
    "FrozenList": FrozenList,
    "FrozenMap": FrozenMap,
    "ImproperList": ImproperList,
    "StrictMap": StrictMap,
    "fun": FunSpec,
    "pid": pid,
    "port": port,
    "range": range,
    "ref": ref,
    "tuple": tuple,
}


def expected(vector: dict[str, Any]) -> object:
    """The Python value a vector must decode to (`DecodeError` for a failing one)."""
    return eval(vector["python"], {"__builtins__": {}}, dict(NAMESPACE))


def same(a: object, b: object) -> bool:
    """True when `a` and `b` are the same Erlang term (exact types, pids by fields)."""
    if isinstance(b, FunSpec):
        return type(a) is Fun and (a.module, a.arity) == (b.module, b.arity)
    if isinstance(a, Pid) and isinstance(b, Pid):
        return (a.node, a._id, a._serial, a._creation) == (b.node, b._id, b._serial, b._creation)
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, ImproperList) and isinstance(b, ImproperList):
        return same(a.items, b.items) and same(a.tail, b.tail)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return len(a) == len(b) and all(
            any(same(k, k2) and same(v, b[k2]) for k2 in b) for k, v in a.items()
        )
    return a == b
