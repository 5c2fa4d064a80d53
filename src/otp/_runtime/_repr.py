"""Printing values for people: reports and error messages that never fail.

Crash reports, timeouts and exit messages show the values involved (the
request, the state, the reason). Those are user values, and `repr()` of a
user value may raise (an `int` of more than 4,300 digits does, and so does a
class whose `__repr__` has a bug) or be enormous (a state of a million
entries). `safe_repr` is the one way the runtime prints a value: it never
raises, and it stops after `limit` characters.

The printing walks the built-in containers itself, with a budget of
characters: it stops descending once the budget is spent, so the cost of
printing a huge state is bounded by the limit, not by the state. Anything
else is printed with its own `repr()`, caught and cut:

    >>> safe_repr([1, 2, 3])
    '[1, 2, 3]'
    >>> safe_repr(list(range(100_000)), limit=30)
    '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9,... (cut at 30 characters; 99,990 more items)'
    >>> safe_repr("x" * 10_000, limit=12)
    "'xxxxxxxxxxx... (cut at 12 characters; 9,990 more characters)"
    >>> safe_repr(10**5000)
    '<int of 16,610 bits, too large to print>'
    >>> class Broken:
    ...     def __repr__(self): raise RuntimeError("oops")
    >>> safe_repr(("ok", Broken()))
    "('ok', <Broken object: repr() raised RuntimeError>)"
"""

from __future__ import annotations

#: The default bound of one printed value in a report (Elixir's Logger cuts at about 8 KB).
DEFAULT_LIMIT = 8192
#: The bound of one value shown in an exception's message: it is read in a traceback.
MESSAGE_LIMIT = 1000

# Containers printed element by element, with their brackets.
_SEQUENCES: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


class _Out:
    """The pieces printed so far, and how many characters are left."""

    __slots__ = ("cut_chars", "cut_items", "left", "parts")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit
        self.cut_items = 0
        self.cut_chars = 0

    def add_cut(self, text: str) -> None:
        """Add `text`, cut to what is left of the budget."""
        room = max(self.left, 0)
        if len(text) > room:
            self.cut_chars += len(text) - room
            text = text[:room]
        self.add(text)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.left -= len(text)


def safe_repr(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """`repr(value)`, but never raising and at most about `limit` characters.

    A value whose `repr()` raises is shown as a placeholder naming its type;
    a printout over `limit` characters ends with a note of what was cut.
    `limit=None` prints everything (still never raising).
    """
    out = _Out(limit if limit is not None else 1 << 62)
    _print(value, out, 0)
    text = "".join(out.parts)
    if limit is None or (len(text) <= limit and not out.cut_items and not out.cut_chars):
        return text
    # Past the budget the printing stops at an item boundary: say how many
    # items are missing; a single long value cut says how many characters.
    if out.cut_items:
        note = f"{out.cut_items:,} more items"
    else:
        note = f"{out.cut_chars + max(len(text) - limit, 0):,} more characters"
    return f"{text[:limit]}... (cut at {limit:,} characters; {note})"


def _print(value: object, out: _Out, depth: int) -> None:
    kind = type(value)
    if out.left <= 0:
        out.cut_items += 1
        return
    if kind in _SEQUENCES and depth < 100:
        _print_sequence(value, kind, out, depth)  # type: ignore[arg-type]
    elif kind is dict and depth < 100:
        _print_dict(value, out, depth)  # type: ignore[arg-type]
    elif kind is int:
        out.add(_int_repr(value))  # type: ignore[arg-type]
    elif kind is str or kind is bytes:
        out.add_cut(repr(value))
    else:
        out.add_cut(_object_repr(value))


def _print_sequence(value: tuple[object, ...], kind: type, out: _Out, depth: int) -> None:
    opening, closing = _SEQUENCES[kind]
    if kind in (set, frozenset) and not value:
        out.add("set()" if kind is set else "frozenset()")
        return
    out.add(opening)
    for i, item in enumerate(value):
        if out.left <= 0:
            out.cut_items += len(value) - i
            break
        if i:
            out.add(", ")
        _print(item, out, depth + 1)
    if kind is tuple and len(value) == 1:
        out.add(",")
    out.add(closing)


def _print_dict(value: dict[object, object], out: _Out, depth: int) -> None:
    out.add("{")
    for i, (key, item) in enumerate(value.items()):
        if out.left <= 0:
            out.cut_items += len(value) - i
            break
        if i:
            out.add(", ")
        _print(key, out, depth + 1)
        out.add(": ")
        _print(item, out, depth + 1)
    out.add("}")


def _int_repr(value: int) -> str:
    try:
        return repr(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return f"<int of {value.bit_length():,} bits, too large to print>"


def _object_repr(value: object) -> str:
    try:
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError("__repr__ returned a non-string")
    except Exception as exc:
        return f"<{_type_name(value)} object: repr() raised {type(exc).__name__}>"
    return text


def _type_name(value: object) -> str:
    try:
        return type(value).__qualname__
    except Exception:  # pragma: no cover - a metaclass that breaks __qualname__
        return "unknown"


class shown:
    """A value that prints itself with `safe_repr`, if and when it is printed.

    For log calls: `logger.info("... %r", shown(reason))` formats nothing
    when the record is not emitted, and never fails when it is.

    >>> f"{shown(10**5000)!r}"
    '<int of 16,610 bits, too large to print>'
    """

    __slots__ = ("limit", "value")

    def __init__(self, value: object, limit: int | None = DEFAULT_LIMIT) -> None:
        self.value = value
        self.limit = limit

    def __repr__(self) -> str:
        return safe_repr(self.value, self.limit)

    __str__ = __repr__


def show(value: object) -> str:
    """A value as an error message shows it: `safe_repr` cut at `MESSAGE_LIMIT`."""
    return safe_repr(value, MESSAGE_LIMIT)


def safe_str(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """`str(value)` (an exception's message, say) that never raises, cut at `limit`."""
    try:
        text = str(value)
    except Exception as exc:
        return f"<{_type_name(value)} object: str() raised {type(exc).__name__}>"
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}... (cut at {limit:,} characters; {len(text) - limit:,} more)"
    return text


def describe_exception(exc: BaseException, limit: int | None = DEFAULT_LIMIT) -> str:
    """`"TypeName: message"`, as a report shows a crash reason; never raises."""
    return f"{_type_name(exc)}: {safe_str(exc, limit)}"


__all__ = [
    "DEFAULT_LIMIT",
    "MESSAGE_LIMIT",
    "describe_exception",
    "safe_repr",
    "safe_str",
    "show",
    "shown",
]
