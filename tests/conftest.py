"""Fixtures shared by every test."""

from __future__ import annotations

import pytest

from otp.testing import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    """A fresh virtual clock at time 0.0: run the test's node with `clock.run(main)`."""
    return VirtualClock()
