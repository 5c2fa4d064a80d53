"""Sphinx glue for otp's docstrings, and a check that the reference is whole.

The docstrings are written to read well in a terminal (`help(otp.call)`)
and in an editor, with a few Markdown habits that reStructuredText does not
share. Rather than bend every docstring, this extension bends Sphinx:

- single backticks: a cross-reference when the text is a dotted `otp.`
  name (`otp.call`, `otp.Supervisor.start_child`), inline code otherwise
  (`"timeout"`, `pid`, `Reply(state, timeout=t)`), so a short word never
  makes an ambiguous reference;
- a Markdown pipe table (`| a | b |` rows under a `|---|` rule) becomes a
  `list-table`;
- a backtick quote glued to a plural (`` `FrozenList`s ``) gets the escaped
  space rST needs;
- a builtin in a signature (`type`, `object`) stays plain text instead of
  being matched to an attribute of the same name (`otp.Child.type`);
- a first line that opens with a call signature followed by prose
  (compiled functions document themselves that way) shows the signature
  as code.

At the end of reading, every name in the `__all__` of a public module must
be documented on some page: a warning otherwise, which `-W` makes an error,
so a new public name cannot be left out of the reference.
"""

from __future__ import annotations

import builtins
import importlib
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst.states import Inliner
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.domains.python import PyXRefRole
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The modules whose `__all__` the reference covers.
PUBLIC_MODULES = [
    "otp",
    "otp.sys",
    "otp.testing",
    "otp.telemetry",
    "otp.telemetry.prometheus",
    "otp.telemetry.opentelemetry",
    "otp.peer",
    "otp.observer",
    "otp.from_thread",
    "otp.erpc",
    "otp.pg",
    "otp.distribution",
]

_DOTTED_OTP_NAME = re.compile(r"~?otp(\.\w+)+")
_py_obj = PyXRefRole()


def code_or_ref(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Inliner,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """The default role: `otp.x.y` links to its entry, anything else is code."""
    if _DOTTED_OTP_NAME.fullmatch(text):
        return _py_obj("py:obj", rawtext, text, lineno, inliner, options or {}, content or [])
    return [nodes.literal(rawtext, text)], []


_TABLE_ROW = re.compile(r"^(\s*)\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|(\s*:?-+:?\s*\|)+\s*$")
_GLUED_SUFFIX = re.compile(r"(`[^`\s][^`]*`)(?=[A-Za-z])")
_SIGNATURE_LINE = re.compile(r"^(\w+\([^`]*?\))(,| --| -) (.*)$")


def _cells(row: str) -> list[str]:
    match = _TABLE_ROW.match(row)
    assert match is not None
    return [cell.strip() for cell in match.group(2).split("|")]


def markdown_tables(lines: list[str]) -> list[str]:
    """Rewrite Markdown pipe tables (header, `|---|` rule, rows) as list-tables."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _TABLE_ROW.match(lines[i])
        if header and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            indent = header.group(1)
            rows = [_cells(lines[i])]
            i += 2
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                rows.append(_cells(lines[i]))
                i += 1
            out += [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
            for row in rows:
                first, *rest = row
                out.append(f"{indent}   * - {first}")
                out += [f"{indent}     - {cell}" for cell in rest]
            out.append("")
        else:
            out.append(lines[i])
            i += 1
    return out


def process_docstring(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Make a docstring's Markdown habits valid reStructuredText (in place)."""
    if lines:
        signature = _SIGNATURE_LINE.match(lines[0])
        if signature:
            lines[0] = f"``{signature.group(1)}``{signature.group(2)} {signature.group(3)}"
    fixed = [_GLUED_SUFFIX.sub(r"\1\\ ", line) for line in markdown_tables(lines)]
    lines[:] = fixed


def unlink_builtins(app: Sphinx, doctree: nodes.document) -> None:
    """Keep builtin names in signatures as text: nothing here documents them."""
    for xref in list(doctree.findall(addnodes.pending_xref)):
        if xref.get("refdomain") == "py" and xref.get("reftarget") in vars(builtins):
            # With unqualified type names the content comes in two versions:
            # keep the one shown when the reference does not resolve.
            fallback = [
                child
                for child in xref.children
                if isinstance(child, addnodes.pending_xref_condition)
                and child.get("condition") == "*"
            ]
            xref.replace_self(fallback[0].children if fallback else xref.children)


def check_reference_is_whole(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn about every public name that no page documents."""
    import otp

    documented = set(env.get_domain("py").objects)  # type: ignore[attr-defined]
    for module_name in PUBLIC_MODULES:
        module = otp.pg if module_name == "otp.pg" else importlib.import_module(module_name)
        for name in module.__all__:
            if f"{module_name}.{name}" in documented:
                continue
            value = getattr(module, name)
            # otp.distribution.Atom is otp.Atom: documented once, under otp.
            if getattr(otp, name, None) is value and f"otp.{name}" in documented:
                continue
            logger.warning(
                "%s.%s is public (in %s.__all__) but no reference page documents it: "
                "add it to the page of its group under docs/reference/",
                module_name,
                name,
                module_name,
            )


def setup(app: Sphinx) -> dict[str, object]:
    app.add_role("otp-code-or-ref", code_or_ref)
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("doctree-read", unlink_builtins)
    app.connect("env-check-consistency", check_reference_is_whole)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
