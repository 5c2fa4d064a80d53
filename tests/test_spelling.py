"""docs/spelling.md: every otp spelling in its tables is a real attribute of `otp`."""

from __future__ import annotations

import pathlib
import re

import pytest

import otp

SPELLING = pathlib.Path(__file__).parent.parent / "docs" / "spelling.md"

#: `otp.Task.await_many`, also inside a call: `otp.Via(reg, key)`.
DOTTED = re.compile(r"\botp(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def table_rows() -> list[tuple[str, str, str]]:
    """Each table row as (section, Elixir/Erlang name, otp spelling)."""
    rows = []
    section = ""
    for line in SPELLING.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("|") and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if cells[0] != "Elixir/Erlang name":
                rows.append((section, cells[0], cells[1]))
    return rows


def resolve(dotted: str) -> object:
    value: object = otp
    for part in dotted.split(".")[1:]:
        value = getattr(value, part)
    return value


ROWS = table_rows()


def test_the_table_has_every_module_group_and_the_not_in_otp_section() -> None:
    sections = {section for section, _, _ in ROWS}
    wanted = {"GenServer", "Supervisor", "DynamicSupervisor", "Registry", "Task", "Agent"}
    assert wanted <= sections
    assert "## Not in otp" in SPELLING.read_text(encoding="utf-8")


@pytest.mark.parametrize(("section", "name", "spelling"), ROWS, ids=[r[1] for r in ROWS])
def test_each_otp_spelling_resolves_to_an_attribute_of_otp(
    section: str, name: str, spelling: str
) -> None:
    names = DOTTED.findall(spelling)
    assert names, f"{section}: the row for {name} names no otp spelling: {spelling!r}"
    for dotted in names:
        try:
            resolve(dotted)
        except AttributeError:
            pytest.fail(f"{section}: {dotted} (the spelling of {name}) is not in otp")
