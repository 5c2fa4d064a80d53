"""What a supervisor is made of: its flags (`SupervisorSpec`) and its children list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .._runtime._repr import show
from ._child import ChildSpec, RestartDelay, to_spec

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
AutoShutdown = Literal["never", "any_significant", "all_significant"]
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
_AUTO = ("never", "any_significant", "all_significant")


@dataclass
class SupervisorSpec:
    """What a module-style supervisor's `init` returns."""

    children: Sequence[object]
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    auto_shutdown: AutoShutdown = "never"
    restart_delay: RestartDelay = None

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(
                f"strategy must be one of {_STRATEGIES}; got {show(self.strategy)}"
                + " (for simple_one_for_one, use otp.DynamicSupervisor)"
            )
        if not isinstance(self.max_restarts, int) or self.max_restarts < 0:
            raise ValueError(f"max_restarts must be an int >= 0; got {show(self.max_restarts)}")
        if not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0; got {show(self.max_seconds)}")
        if self.auto_shutdown not in _AUTO:
            raise ValueError(
                f"auto_shutdown must be one of {_AUTO}; got {show(self.auto_shutdown)}"
            )


def child_specs(children: Sequence[object]) -> list[ChildSpec]:
    """Normalise a children list: TypeError for a bad entry, ValueError for a duplicate id."""
    specs = [to_spec(c) for c in children]
    _check_unique_ids(specs)
    return specs


def _check_unique_ids(specs: list[ChildSpec]) -> None:
    seen: set[object] = set()
    unhashable: list[object] = []
    for spec in specs:
        id_ = spec.id
        try:
            duplicate = id_ in seen
            seen.add(id_)
        except TypeError:  # an unhashable id: compare by equality
            duplicate = id_ in unhashable
            unhashable.append(id_)
        if duplicate:
            raise ValueError(
                f"duplicate child id {show(id_)}: give each child its own id "
                f"(e.g. Worker.child_spec(arg, id='worker-2'))"
            )
