"""Opaque keyset cursors: stable pages even while rows are added."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "cursor",
            "Not a cursor from this API; pass next_cursor unchanged.",
            code="invalid_cursor",
        ) from None


def decode_typed_cursor(cursor: str | None, kind: type) -> Any:
    key = decode_cursor(cursor)
    if key is not None and (not isinstance(key, kind) or isinstance(key, bool)):
        raise InvalidInput("cursor", "Not a cursor for this list.", code="invalid_cursor")
    return key


def page(rows: Sequence[T], limit: int, key: Callable[[T], Any]) -> dict[str, Any]:
    """Services fetch ``limit + 1`` rows; the extra one tells whether a next page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}
