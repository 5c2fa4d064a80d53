"""The events the exporters turn into metrics (`prometheus.py`, `opentelemetry.py`)."""

from __future__ import annotations

#: A stop or an exception carries a span's duration; the others are counts.
EXPORTED_EVENTS = [
    ("otp", "call", "stop"),
    ("otp", "call", "exception"),
    ("otp", "cast", "stop"),
    ("otp", "cast", "exception"),
    ("otp", "process", "crash"),
    ("otp", "supervisor", "restart"),
    ("otp", "supervisor", "shutdown"),
    ("otp", "mailbox", "long"),
]


def label_text(value: object) -> str:
    """A metadata value as a metric label: a class by its name, None as ""."""
    if value is None:
        return ""
    if isinstance(value, type):
        return value.__name__  # a child id that is a class
    return value if isinstance(value, str) else repr(value)
