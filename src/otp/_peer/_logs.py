"""A worker's output and log records, brought to the starter's logs.

The worker's stdout and stderr are pipes that its control process reads
line by line: a stdout line is logged on the starter's logger `"otp.peer"`
at INFO, a stderr line at WARNING, each as `[node] line` with
`extra={"otp_node": node}`.

The worker's logging records travel on the stderr pipe too:
`ForwardHandler` (the worker's root handler) writes each record as one
line, `MARKER` and the record as JSON, with a single `os.write` to file
descriptor 2. Nothing is buffered in the worker, so a record logged just
before the worker crashes (or halts with `os._exit`) is in the pipe
already and reaches the starter. There `Output.line` re-emits it on the
logger of the same name, with the worker's node in the message and in
`otp_node`, if that logger is enabled for the level.

>>> record = logging.LogRecord("app", logging.ERROR, "app.py", 3, "lost %s", ("x",), None)
>>> line = encode_record(record)
>>> line.startswith(MARKER)
True
>>> decode_record(line[len(MARKER) :])["msg"]
'lost x'
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from typing import Final

logger = logging.getLogger("otp.peer")

#: Starts a stderr line that holds a log record (the ASCII record separator).
MARKER: Final = b"\x1eotp-log "
#: Lines of the worker's stderr kept for the message of a failed start.
TAIL_LINES: Final = 20
#: The longest line read whole; a longer one is logged in pieces.
LINE_LIMIT: Final = 1 << 20

_FIELDS: Final = ("name", "levelno", "pathname", "lineno", "funcName", "created")


def encode_record(record: logging.LogRecord) -> bytes:
    """One line: `MARKER`, then the record's fields and formatted message as JSON."""
    fields: dict[str, object] = {f: getattr(record, f) for f in _FIELDS}
    fields["msg"] = record.getMessage()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    fields["exc_text"] = record.exc_text
    fields["stack_info"] = record.stack_info
    return MARKER + json.dumps(fields, default=repr).encode("utf-8") + b"\n"


def decode_record(data: bytes) -> dict[str, object]:
    fields = json.loads(data)
    assert isinstance(fields, dict)
    return fields


class ForwardHandler(logging.Handler):
    """The worker's root log handler: every record to the starter, through stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = encode_record(record)
            while data:
                data = data[os.write(2, data) :]
        except Exception:  # pragma: no cover - logging's own convention
            self.handleError(record)


def forward_logs(levels: dict[str, int]) -> None:
    """In the worker: send every log record to the starter, at the starter's levels."""
    root = logging.getLogger()
    root.addHandler(ForwardHandler())
    root.setLevel(levels.get("", logging.WARNING))
    otp_level = levels.get("otp", root.level)
    if otp_level != root.level:
        logging.getLogger("otp").setLevel(otp_level)


class Output:
    """The starter's side: log the lines of one worker, keep the tail of its stderr."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.extra = {"otp_node": node}
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    async def read(self, stream: asyncio.StreamReader, level: int) -> None:
        """Log each line of `stream` until it ends (see `line`)."""
        while True:
            try:
                data = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                data = exc.partial  # the last line, without its newline
                if data:
                    self.line(data, level)
                return
            except asyncio.LimitOverrunError as exc:
                data = await stream.readexactly(exc.consumed)
            self.line(data, level)

    def line(self, data: bytes, level: int) -> None:
        """One line of the worker's output (`level`: INFO for stdout, WARNING for stderr)."""
        if data.startswith(MARKER):
            try:
                fields = decode_record(data[len(MARKER) :])
            except ValueError:
                pass  # not a record after all: logged as a line below
            else:
                self.record(fields)
                return
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        if level >= logging.WARNING:
            self.tail.append(text)
        logger.log(level, "[%s] %s", self.node, text, extra=self.extra)

    def record(self, fields: dict[str, object]) -> None:
        """Re-emit a record of the worker on the starter's logger of the same name."""
        level = fields.get("levelno")
        name = fields.get("name")
        msg = f"[{self.node}] {fields.get('msg')}"
        exc_text = fields.get("exc_text")
        self.tail.append(msg if not exc_text else f"{msg}\n{exc_text}")
        if not isinstance(level, int) or not isinstance(name, str):
            return
        target = logging.getLogger(name)
        if not target.isEnabledFor(level):
            return
        lineno = fields.get("lineno")
        record = target.makeRecord(
            target.name,
            level,
            str(fields.get("pathname")),
            lineno if isinstance(lineno, int) else 0,
            msg,
            (),
            None,
            func=str(fields.get("funcName")),
            extra=self.extra,
            sinfo=fields.get("stack_info") if isinstance(fields.get("stack_info"), str) else None,  # type: ignore[arg-type]
        )
        record.exc_text = exc_text if isinstance(exc_text, str) else None
        created = fields.get("created")
        if isinstance(created, float):
            record.created = created
            record.msecs = (created - int(created)) * 1000
        target.handle(record)

    def tail_text(self) -> str:
        """The last lines of the worker's stderr, indented, for an error message."""
        if not self.tail:
            return " (its stderr was empty)"
        lines = "\n".join(self.tail).splitlines()[-TAIL_LINES:]
        return "; the end of its stderr:\n" + "\n".join(f"    {line}" for line in lines)


__all__ = ["MARKER", "ForwardHandler", "Output", "forward_logs"]
