"""LOG_FORMAT=json: one JSON object per line, for a log collector to index.

Each line has `time` (UTC, ISO 8601), `level`, `logger`, `message` and, inside a request,
`request_id` (infrastructure/request_ids.py; a masked error's own id where it has one); uvicorn's
access lines add `client`, `method`, `path` and `status`; a traceback is `exception`.

`openchannels serve` configures every logger with this formatter (openchannels/cli/serve.py);
`configure_logging` does it again in the application, for a server started by `uvicorn` itself.
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

import orjson

from infrastructure.request_ids import request_id

FORMATS = ("text", "json")
#: the loggers a server writes to (the root catches the rest)
SERVER_LOGGERS = ("", "openchannels", "tortoise", "uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = getattr(record, "request_id", None) or request_id.get()
        if current:
            line["request_id"] = current
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args
            line.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def check_format(log_format: str) -> None:
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")


def configure_logging(log_format: str) -> None:
    """With json: every handler of the server's loggers writes JSON; the root logger gets one on
    stderr when nobody configured it (plain `uvicorn`), so that our WARNING and ERROR lines are not
    left to Python's last-resort handler."""
    check_format(log_format)
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for name in SERVER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())
