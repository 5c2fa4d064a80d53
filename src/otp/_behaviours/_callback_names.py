"""Misspelt callback names, caught when a behaviour's subclass is created.

A GenServer method named `handle_cal` is never called: the server looks
up `handle_call`, falls back to the default, and the mistake shows up
later as "received a call it does not handle". Elixir catches it with
`@impl true`; here the class is checked when it is created, and each
suspect method gets an `otp.CallbackWarning`:

    >>> import warnings, otp
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     class Counter(otp.GenServer):
    ...         def handle_cal(self, request, from_, state):
    ...             return otp.Reply(state, state)
    >>> print(caught[0].message)
    Counter.handle_cal looks like a misspelling of the GenServer callback handle_call;
    rename it (or prefix it with an underscore if it is a helper)

What counts as a misspelling (names compared in lower case, underscores
ignored, so `handleCall` and `Handle_Call` match `handle_call`) is kept
tight, since a warning on an ordinary helper would be noise:

- the same letters: `handleCall`, `HandleCall`;
- two neighbouring letters swapped: `handle_contineu`, `inti`;
- one letter missing or extra, for callbacks of 8 letters or more:
  `handle_cal`, `handle_infos`, `terminte` (not for `init`, whose
  neighbours `int` or `inits` are ordinary names);
- one letter replaced, for callbacks of 12 letters or more:
  `handle_contimue`, `format_statis` (shorter ones have real words one
  letter away: `handle_case`, `handle_cell`).

Never warned about: names starting with `_`, the callbacks themselves,
names a base class already defines (overrides of `start_link`,
`child_spec`, or of a parent's helper), non-methods, and a name whose
callback the class defines too (`terminated` next to `terminate` is a
helper, not a typo).
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Sequence

from .._errors import CallbackWarning

#: The callbacks of each behaviour that checks its subclasses.
CALLBACKS: dict[str, Sequence[str]] = {
    "GenServer": (
        "init",
        "handle_call",
        "handle_cast",
        "handle_info",
        "handle_continue",
        "terminate",
        "code_change",
        "format_status",
    ),
    "Supervisor": ("init",),
    "DynamicSupervisor": ("init",),
}


def check_callback_names(cls: type, behaviour: str) -> None:
    """Warn (`CallbackWarning`) for each method of `cls` named like a misspelt callback."""
    callbacks = CALLBACKS[behaviour]
    for name, value in vars(cls).items():
        if name[:1] == "_" or name in callbacks:
            continue
        fn = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        if not inspect.isfunction(fn):
            continue
        meant = resembled(name, callbacks)
        if meant is None or meant in vars(cls) or any(hasattr(b, name) for b in cls.__mro__[1:]):
            continue
        _warn_at(
            fn,
            cls,
            f"{cls.__name__}.{name} looks like a misspelling of the {behaviour} callback "
            f"{meant}; rename it (or prefix it with an underscore if it is a helper)",
        )


def resembled(name: str, callbacks: Sequence[str]) -> str | None:
    """The callback that `name` looks like a misspelling of, or None.

    >>> resembled("handle_cal", CALLBACKS["GenServer"])
    'handle_call'
    >>> [resembled(n, CALLBACKS["GenServer"]) for n in ("int", "handle_request", "Init")]
    [None, None, 'init']
    """
    typed = _letters(name)
    for callback in callbacks:
        wanted = _letters(callback)
        if abs(len(typed) - len(wanted)) > 1:
            continue  # more than one edit apart: the common case, decided at once
        edit = _one_edit(typed, wanted)
        if (
            edit == "same"
            or edit == "swap"
            or (edit == "indel" and len(wanted) >= 8)
            or (edit == "replace" and len(wanted) >= 12)
        ):
            return callback
    return None


def _letters(name: str) -> str:
    return name.lower().replace("_", "")


def _one_edit(a: str, b: str) -> str | None:
    """How `a` differs from `b` by at most one edit: same, swap, indel, replace; else None.

    Each test is one pass over the strings, so checking a class costs
    almost nothing next to creating it.
    """
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if not diffs:
            return "same"
        if len(diffs) == 1:
            return "replace"
        i, j = diffs[0], diffs[-1]
        if len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]:
            return "swap"
        return None
    if abs(len(a) - len(b)) != 1:
        return None
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return "indel" if short[i:] == long[i + 1 :] else None


def _warn_at(fn: object, cls: type, message: str) -> None:
    """Warn at the misspelt `def` itself, which is the line to change."""
    code = getattr(fn, "__code__", None)
    module = sys.modules.get(cls.__module__)
    if code is None or module is None:  # pragma: no cover - every def has both
        warnings.warn(message, CallbackWarning, stacklevel=4)
        return
    warnings.warn_explicit(
        message,
        CallbackWarning,
        code.co_filename,
        code.co_firstlineno,
        module=cls.__module__,
        registry=vars(module).setdefault("__warningregistry__", {}),
        module_globals=vars(module),
    )
