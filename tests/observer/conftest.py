"""The observer tests reuse the distribution tests' helpers (second nodes, erl)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "distribution"))
