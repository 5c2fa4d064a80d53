"""The layers import one way: runtime <- behaviours <- distribution <- peer/tools.

The runtime offers hooks (`Node.distribution_factory`, the wire receivers of
`otp._runtime._wire`) that the layers above plug into; it never imports
them, not even lazily inside a function. This reads every import statement
of the package, wherever it is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "otp"

#: Each layer, and the layers it must not import.
FORBIDDEN = {
    "_runtime": ("_behaviours", "distribution", "testing", "sys", "peer", "_peer", "observer"),
    "_behaviours": ("distribution", "testing", "peer", "_peer", "observer"),
    "distribution": ("peer", "_peer", "observer"),
}


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, as an absolute `otp....` name."""
    package = ["otp", *path.relative_to(SRC).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(layer: str) -> None:
    offending = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / layer).glob("*.py"))
        for name in imported_modules(path)
        if any(name == f"otp.{up}" or name.startswith(f"otp.{up}.") for up in FORBIDDEN[layer])
    ]
    assert offending == []


def test_the_import_reader_sees_relative_imports() -> None:
    names = imported_modules(SRC / "_behaviours" / "_gen_server.py")
    assert "otp._runtime._scheduler" in names
    assert "otp._behaviours._server_wire" in names
