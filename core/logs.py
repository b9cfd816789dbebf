"""How every process logs: plain lines, or JSON lines (``LOG_FORMAT=json``) for a collector.

Each record carries the request id bound where it was written (core/request_ids.py): the web
request's, or in a worker the id of the request that wrote the outbox message it carries out.
Quiet by default: ``LOG_LEVEL`` (INFO) and no line per request unless ``LOG_REQUESTS``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core import request_ids

PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
#: Attributes of every LogRecord; anything else a caller passes in ``extra`` goes in the JSON.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_ids.current() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != "-":
            line["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str | int = "INFO", fmt: str = "plain") -> None:
    """Set up the root logger once per process (called again, it replaces its own handler)."""
    if fmt not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT is 'plain' or 'json', not {fmt!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_spareflow", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._spareflow = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN))
    root.addHandler(handler)
    root.setLevel(level)
