"""Erlang term values that have no exact Python counterpart.

Most Erlang terms map onto plain Python values (see `otp.distribution` for the full
table). The ones here fill the gaps:

- `Atom`: an Erlang atom, a `str` subclass, so `Atom("ok") == "ok"`.
- `Port`: a port identifier from another node (no public constructor).
- `ImproperList`: a list whose tail is not `[]`, such as `[alias | Ref]`.
- `Fun`, `Export`, `BitBinary`: funs, `fun M:F/A` and bitstrings; a Python
  node cannot run or build them meaningfully, but it can keep them and send
  them back unchanged.
- `FrozenList`, `FrozenMap`: hashable stand-ins for lists and maps used as map
  keys (Erlang allows any term as a key, a Python dict does not).
- `StrictMap`: an Erlang map whose keys a dict would merge (`1` and `1.0`,
  the atom `a` and the binary `"a"`), with Erlang's exact key equality.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, final


@final
class Atom(str):
    """An Erlang atom: a `str` that encodes as an atom, not as a binary.

    Atoms compare equal to strings with the same text, so `match` statements
    and `==` work on messages from Erlang without wrapping every literal:

    >>> Atom("ok") == "ok"
    True
    >>> Atom("ok")
    Atom('ok')

    Because of that equality, a Python dict cannot hold both the atom `a` and
    the string `"a"` as keys (an Erlang map can).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


@final
class Port:
    """The identifier of a port (an Erlang I/O channel) on some node.

    Python nodes have no ports; they only receive port identifiers in
    messages and may send them back. Ports compare by value.
    """

    __slots__ = ("_creation", "_id", "_node_name")

    _node_name: str
    _id: int
    _creation: int

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError("otp.Port has no public constructor: ports come from Erlang nodes")

    @property
    def node(self) -> str:
        """The name of the node that owns the port."""
        return self._node_name

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Port
            and self._id == other._id
            and self._node_name == other._node_name
            and self._creation == other._creation
        )

    def __hash__(self) -> int:
        return hash((self._node_name, self._id))

    def __repr__(self) -> str:
        return f"#Port<{self._node_name}.{self._id}>"


def _new_port(node_name: str, id_: int, creation: int) -> Port:
    port = object.__new__(Port)
    port._node_name = node_name
    port._id = id_
    port._creation = creation
    return port


@final
class ImproperList:
    """A list whose tail is not the empty list: Erlang's `[H1, H2 | Tail]`.

    `items` holds the elements before the `|` (at least one) and `tail` the
    term after it (anything except a list). OTP's call tags are improper
    lists: `[alias | Ref]`.

    >>> ImproperList([Atom("alias")], 42)
    ImproperList([Atom('alias')], 42)
    >>> ImproperList([1], 2) == ImproperList((1,), 2)
    True
    """

    __slots__ = ("items", "tail")

    items: tuple[object, ...]
    tail: object

    def __init__(self, items: Iterable[object], tail: object) -> None:
        items = tuple(items)
        if not items:
            raise ValueError("an improper list needs at least one element before its tail")
        if isinstance(tail, list | ImproperList | FrozenList):
            raise ValueError(
                f"the tail of an improper list cannot be a list (got {tail!r}); "
                "concatenate the elements instead"
            )
        self.items = items
        self.tail = tail

    def __eq__(self, other: object) -> bool:
        return type(other) is ImproperList and self.items == other.items and self.tail == other.tail

    def __hash__(self) -> int:
        return hash((ImproperList, self.items, self.tail))

    def __repr__(self) -> str:
        return f"ImproperList({list(self.items)!r}, {self.tail!r})"


@final
class Export:
    """An external fun, Erlang's `fun Module:Function/Arity`.

    >>> Export("lists", "map", 2)
    Export('lists', 'map', 2)
    """

    __slots__ = ("arity", "function", "module")

    module: str
    function: str
    arity: int

    def __init__(self, module: str, function: str, arity: int) -> None:
        if not 0 <= arity <= 255:
            raise ValueError(f"a fun's arity is between 0 and 255; got {arity!r}")
        self.module = module
        self.function = function
        self.arity = arity

    def __eq__(self, other: object) -> bool:
        return type(other) is Export and (self.module, self.function, self.arity) == (
            other.module,
            other.function,
            other.arity,
        )

    def __hash__(self) -> int:
        return hash((Export, self.module, self.function, self.arity))

    def __repr__(self) -> str:
        return f"Export({self.module!r}, {self.function!r}, {self.arity!r})"


@final
class Fun:
    """A local fun received from an Erlang node, kept as its exact bytes.

    A Python node cannot call it; it can store it and send it back, and the
    Erlang side receives the very same fun. `module` and `arity` say where it
    was defined; `free_vars` are the values it captured. Funs compare by their
    encoded bytes. There is no public constructor.
    """

    __slots__ = ("_raw", "arity", "free_vars", "module")

    module: str
    arity: int
    free_vars: tuple[object, ...]
    _raw: bytes

    def __init__(self, *_: object) -> None:  # pragma: no cover - guard
        raise TypeError(
            "otp.distribution.Fun has no public constructor: funs come from Erlang nodes"
        )

    def __eq__(self, other: object) -> bool:
        return type(other) is Fun and self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"#Fun<{self.module}.{self.arity}>"


def _new_fun(module: str, arity: int, free_vars: tuple[object, ...], raw: bytes) -> Fun:
    fun = object.__new__(Fun)
    fun.module = module
    fun.arity = arity
    fun.free_vars = free_vars
    fun._raw = raw
    return fun


@final
class BitBinary:
    """A bitstring whose length is not a whole number of bytes.

    `data` holds the bytes and `bits` how many bits of the last byte belong
    to the value (1 to 8). Erlang's `<<1, 2:3>>` is
    `BitBinary(b"\\x01\\x40", 3)`: the last byte keeps its high bits.

    >>> BitBinary(b"\\x01\\x40", 3)
    BitBinary(b'\\x01@', 3)
    """

    __slots__ = ("bits", "data")

    data: bytes
    bits: int

    def __init__(self, data: bytes, bits: int) -> None:
        if not data or not 1 <= bits <= 8:
            raise ValueError(
                f"a bitstring needs at least one byte and 1 to 8 bits used in its last byte; "
                f"got {len(data)} bytes and bits={bits!r}"
            )
        self.data = bytes(data)
        self.bits = bits

    def __eq__(self, other: object) -> bool:
        return type(other) is BitBinary and (self.data, self.bits) == (other.data, other.bits)

    def __hash__(self) -> int:
        return hash((BitBinary, self.data, self.bits))

    def __repr__(self) -> str:
        return f"BitBinary({self.data!r}, {self.bits!r})"


@final
class FrozenList(tuple[Any, ...]):
    """An Erlang list used as a map key: a hashable list.

    Decoding a map whose key is a list (Erlang strings often are) gives a
    `FrozenList` key, which encodes back to a list. It equals the list with
    the same elements, never a tuple.

    >>> FrozenList([1, 2]) == [1, 2], FrozenList([1, 2]) == (1, 2)
    (True, False)
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenList | list):
            return tuple.__eq__(self, tuple(other))
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((FrozenList, tuple(self)))

    def __repr__(self) -> str:
        return f"FrozenList({list(self)!r})"


@final
class FrozenMap(Mapping[Any, Any]):
    """An Erlang map used as a map key: a hashable, read-only dict.

    >>> FrozenMap({"a": 1}) == {"a": 1}
    True
    """

    __slots__ = ("_dict",)

    _dict: dict[Any, Any]

    def __init__(self, items: Mapping[Any, Any]) -> None:
        self._dict = dict(items)

    def __getitem__(self, key: object) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._dict == other._dict
        return isinstance(other, dict) and self._dict == other

    def __hash__(self) -> int:
        return hash((FrozenMap, frozenset(self._dict.items())))

    def __repr__(self) -> str:
        return f"FrozenMap({self._dict!r})"


@final
class StrictMap(Mapping[Any, Any]):
    """An Erlang map whose keys a Python dict would merge, kept apart.

    Erlang's map keys are compared with exact equality (`=:=`): `1` and
    `1.0`, `true` and `1`, the atom `a` and the binary `<<"a">>` are
    different keys. Python's `==` makes each pair equal, so a dict would
    keep one of them. Decoding gives a `StrictMap` for such a map only (every
    other map is a plain `dict`); it looks keys up the way Erlang does:

    >>> m = StrictMap([(1, Atom("a")), (1.0, Atom("b"))])
    >>> m[1], m[1.0], len(m)
    (Atom('a'), Atom('b'), 2)
    >>> m
    StrictMap([(1, Atom('a')), (1.0, Atom('b'))])

    It is read-only and keeps its pairs in the order given (decoding: the
    order on the wire), which is also the order it encodes them in. Two
    `StrictMap`s are equal when they hold exactly the same pairs, in any
    order; a `StrictMap` never equals a dict. It is hashable (values
    included, compared exactly), so it can itself be a map key.

    Exact equality, as Erlang's: numbers are equal only to numbers of the
    same type (`1` is not `1.0`, and `0.0` is not `-0.0`); `True`, `False`
    and `None` are the atoms `true`, `false` and `nil` and no number; an
    `Atom` is never equal to a `str` or `bytes` (binaries, equal to each
    other when their bytes are); a `list` equals a `FrozenList` and a `dict`
    a `FrozenMap` with exactly equal contents; containers compare their
    elements exactly. Other values (pids, references, funs...) compare with
    `==` within their type.

    Raises:
        ValueError: two keys are exactly equal (an Erlang map cannot hold
            them both).
    """

    __slots__ = ("_index", "_pairs")

    _pairs: tuple[tuple[Any, Any], ...]
    _index: dict[object, int]

    def __init__(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        self._pairs = tuple((key, value) for key, value in pairs)
        self._index = {}
        for i, (key, _) in enumerate(self._pairs):
            exact = _exact(key)
            if exact in self._index:
                raise ValueError(
                    f"a map cannot hold the key {key!r} twice (the keys at positions "
                    f"{self._index[exact]} and {i} are exactly equal); drop one of the pairs"
                )
            self._index[exact] = i

    def __getitem__(self, key: object) -> Any:
        try:
            return self._pairs[self._index[_exact(key)]][1]
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        try:
            return _exact(key) in self._index
        except TypeError:
            return False

    def __iter__(self) -> Iterator[Any]:
        return (key for key, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __eq__(self, other: object) -> bool:
        return type(other) is StrictMap and self._exact_pairs() == other._exact_pairs()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((StrictMap, self._exact_pairs()))

    def __repr__(self) -> str:
        return f"StrictMap({list(self._pairs)!r})"

    def _exact_pairs(self) -> frozenset[tuple[object, object]]:
        return frozenset((_exact(key), _exact(value)) for key, value in self._pairs)


# The exact form of a term: a hashable value that is `==` to another term's
# exact form exactly when Erlang's `=:=` holds between the two terms. Each is
# tagged with its Erlang type, so that 1 (int) and 1.0 (float), or the atom
# a and the binary "a", no longer meet; floats by their hex text, which
# tells 0.0 from -0.0 as Erlang does.
_ATOM_FORMS: dict[object, str] = {True: "true", False: "false", None: "nil"}


def _exact(term: object) -> object:
    kind = type(term)
    if kind is int:
        return ("int", term)
    if kind is float:
        return ("float", term.hex())  # type: ignore[attr-defined]
    if kind is bool or term is None:
        return ("atom", _ATOM_FORMS[term])
    if kind is Atom:
        return ("atom", str(term))
    if kind is str:
        return ("binary", term.encode("utf-8", "surrogatepass"))  # type: ignore[attr-defined]
    if kind is bytes:
        return ("binary", term)
    if kind is tuple:
        return ("tuple", tuple(_exact(x) for x in term))  # type: ignore[attr-defined]
    if kind is list or kind is FrozenList:
        return ("list", tuple(_exact(x) for x in term))  # type: ignore[attr-defined]
    if kind is dict or kind is FrozenMap or kind is StrictMap:
        items = term.items()  # type: ignore[attr-defined]
        return ("map", frozenset((_exact(k), _exact(v)) for k, v in items))
    if kind is ImproperList:
        improper: ImproperList = term  # type: ignore[assignment]
        return ("improper", tuple(_exact(x) for x in improper.items), _exact(improper.tail))
    return (kind, term)


def freeze(term: object) -> object:
    """A hashable equivalent of `term`: lists and maps inside become frozen.

    >>> freeze([1, {"a": [2]}])
    FrozenList([1, FrozenMap({'a': FrozenList([2])})])
    """
    if isinstance(term, list):
        return FrozenList(freeze(x) for x in term)
    if type(term) is dict:
        return FrozenMap({freeze(k): freeze(v) for k, v in term.items()})
    if type(term) is tuple:
        return tuple(freeze(x) for x in term)
    if type(term) is ImproperList:
        return ImproperList([freeze(x) for x in term.items], freeze(term.tail))
    return term
