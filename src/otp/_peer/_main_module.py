"""The starter's main module, loaded again in the worker, as multiprocessing's spawn does.

A function defined in the script the starter runs has `__module__ ==
"__main__"`; it travels to a worker by that name (or pickled as
`__main__.fn`), so the worker needs that script as its own `__main__`.
The starter describes its main module (`describe_main`), and the worker
loads it (`load_main`):

- a script (`python app.py`): run the file with `run_name="__mp_main__"`, so
  that its `if __name__ == "__main__":` block does not start another
  program;
- a module (`python -m pkg.app`): run the module the same way;
- no file (`python -c`, the REPL, `python -m pkg` of a package's
  `__main__`): nothing to load, as multiprocessing does.

Either way the result becomes both `sys.modules["__main__"]` and
`sys.modules["__mp_main__"]`.

>>> describe_main() is None or describe_main()[0] in ("path", "module")
True
"""

from __future__ import annotations

import os
import runpy
import sys
import types

#: `("path", file)`, `("module", name)`, or None: nothing to load.
MainModule = tuple[str, str] | None


def describe_main() -> MainModule:
    """How the worker finds this program's main module (see the module docstring)."""
    main = sys.modules.get("__main__")
    if main is None:  # pragma: no cover - embedded interpreters
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str):
        if name == "__main__" or name.endswith(".__main__"):
            return None
        return ("module", name)
    path = getattr(main, "__file__", None)
    if isinstance(path, str) and path:
        return ("path", os.path.abspath(path))
    return None


def load_main(described: MainModule) -> None:
    """Load the starter's main module as this program's `__main__` (module docstring)."""
    if described is None:
        return
    kind, where = described
    module = types.ModuleType("__mp_main__")
    if kind == "path":
        module.__file__ = where
        content = runpy.run_path(where, run_name="__mp_main__")
    else:
        content = runpy.run_module(where, run_name="__mp_main__", alter_sys=True)
    module.__dict__.update(content)
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


__all__ = ["MainModule", "describe_main", "load_main"]
