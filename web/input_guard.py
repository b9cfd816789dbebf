"""Input no view should ever see, refused at the edge with a 4xx in the error shape.

One ``before_request`` check for every route, so no endpoint has to remember it (a JSON
string is answered 422 with the field named, like any other invalid field of the API):

- a NUL character (``\\x00``) in the path, the query string, a header, a form field, an
  uploaded file's name or a JSON string (key or value): PostgreSQL refuses NUL in text (a 500 from
  the driver), SQLite truncates or stores it;
- a lone UTF-16 surrogate in a JSON string (``"\\ud800"``): valid JSON, but no UTF-8 text, so
  neither a database nor a spreadsheet can hold it;
- JSON nested deeper than :data:`MAX_JSON_DEPTH`: no request of ours nests more than a few
  levels, and Python's parser fails with a ``RecursionError`` past about a thousand.

Webhook bodies (``/webhooks/``) are not read here: a webhook is authenticated first, then an
unreadable body is kept for review and answered 400 (carriers/services.py). Their path and
query string are checked like any other. Uploaded spreadsheet cells cannot carry NUL: XML
1.0 has no way to write it, and the parser refuses the workbook (core/spreadsheets/).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request

from web.errors import LONE_SURROGATE, NESTED_TOO_DEEP, NUL_CHARACTER, error_response

#: Deeper than any body the API documents (a return with lines and an address is 3 levels).
MAX_JSON_DEPTH = 32

#: Bodies read by their own handler after verifying who sent them.
RAW_BODY_PATHS = ("/webhooks/",)

_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: A JSON text can only carry these as escapes: scan the raw body before walking the data.
_NUL_ESCAPE = b"\\u0000"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadInput(Exception):
    def __init__(self, code: str, message: str, *, status: int = 400, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details


def _no_nul(location: str, pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise BadInput(
                "invalid_characters",
                NUL_CHARACTER,
                location=location,
                field=name.replace("\x00", "\\x00"),
            )


def _walk_json(data: Any) -> None:
    """Depth, NUL and lone surrogates of parsed JSON, without recursion."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            _check_json_text(value, path)
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    _check_json_text(key, where)
                stack.append((item, depth + 1, where))


def _check_json_text(text: str, path: str) -> None:
    """A 422 naming the field, as the API's schemas name any other invalid field."""
    for found, message in (
        ("\x00" in text, NUL_CHARACTER),
        (_SURROGATE.search(text), LONE_SURROGATE),
    ):
        if found:
            field = (path or "_schema").replace("\x00", "\\x00")
            field = field.encode("utf-8", "backslashreplace").decode()
            raise BadInput(
                "invalid_characters",
                message,
                status=422,
                location="json",
                fields={field: [message]},
            )


def _too_deep() -> BadInput:
    return BadInput("malformed_request", NESTED_TOO_DEEP, location="json", max_depth=MAX_JSON_DEPTH)


def _check_json_body() -> None:
    raw = request.get_data(cache=True)
    if not raw:
        return
    brackets = raw.count(b"[") + raw.count(b"{")
    suspicious = (
        brackets > MAX_JSON_DEPTH or _NUL_ESCAPE in raw or _SURROGATE_ESCAPE.search(raw) is not None
    )
    if not suspicious:
        return  # the common case: nothing to look for, and no second parse
    try:
        data = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        return  # not JSON at all: the view's parser answers 400 malformed_request
    _walk_json(data)


def check_request() -> Response | None:
    """The ``before_request`` hook: None to go on, or the 400 that answers the request."""
    try:
        _no_nul("path", [("path", request.path)])
        _no_nul("query string", request.args.items(multi=True))
        _no_nul("headers", request.headers.items())
        if not request.path.startswith(RAW_BODY_PATHS):
            if request.is_json:
                _check_json_body()
            elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                _no_nul("form", request.form.items(multi=True))
                files = request.files.items(multi=True)
                _no_nul("uploaded file name", ((k, f.filename or "") for k, f in files))
    except BadInput as error:
        return error_response(error.status, error.code, error.message, error.details)
    return None


def init_app(app: Flask) -> None:
    """Register the check; call it before any blueprint whose views read input."""
    app.before_request(check_request)
