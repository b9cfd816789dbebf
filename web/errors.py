"""Every error, domain or HTTP, mapped to a response in one place: JSON for the API, HTML for pages.

JSON errors always look like
``{"error": {"code": "insufficient_stock", "message": "...", "details": {...}}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from carriers.events import CarrierUnavailable, MalformedWebhook, WebhookRejected
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from sales.shopify import OrderWebhookRejected, ShopifyPayloadError
from web.i18n import N_

log = logging.getLogger(__name__)

DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (WebhookRejected, 401),
    (MalformedWebhook, 400),
    (OrderWebhookRejected, 401),
    (ShopifyPayloadError, 400),
    (CarrierUnavailable, 502),
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
    (DomainError, 400),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


#: web/input_guard.py's reasons for refusing a request (a 400), whatever the route.
NUL_CHARACTER = N_("The request contains a NUL character (\\x00), which spareflow never accepts.")
LONE_SURROGATE = N_(
    "The request contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text: "
    "send each character whole."
)
NESTED_TOO_DEEP = N_("The JSON body is nested too deeply to be a request of this API.")

#: Messages an HTML error page shows in the reader's language (the JSON API keeps English):
#: Werkzeug's default descriptions and this module's own. Any other message (a domain
#: error's) is shown as it is.
PAGE_MESSAGES = (
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_(
        "You don't have the permission to access the requested resource. It is either "
        "read-protected or not readable by the server."
    ),
    N_(
        "The requested URL was not found on the server. If you entered the URL manually "
        "please check your spelling and try again."
    ),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("This user has exceeded an allotted request count. Try again later."),
    # Flask-WTF's reasons for refusing a form (a 400 page).
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
    N_("The change conflicts with data saved at the same time; reload and try again."),
    N_("The database is not reachable right now; nothing was saved. Try again."),
    N_("Something went wrong on our side; it has been logged."),
    NUL_CHARACTER,
    LONE_SURROGATE,
    NESTED_TOO_DEEP,
)

#: Paths that machines call: their errors are JSON whatever the Accept header says.
JSON_PATHS = ("/api/", "/webhooks/", "/healthz", "/readyz", "/internal/")


def wants_json() -> bool:
    if request.path.startswith(JSON_PATHS):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        response = jsonify(body)
    else:
        shown = gettext(message) if message in PAGE_MESSAGES else message
        response = Response(
            render_template("error.html", status=status, code=code, message=shown),
            mimetype="text/html",
        )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_messages(messages: Any) -> dict[str, Any]:
    """Flatten webargs' ``{"json": {"qty": [...]}}`` to ``{"qty": [...]}``."""
    if isinstance(messages, dict):
        fields: dict[str, Any] = {}
        for location, value in messages.items():
            if isinstance(value, dict):
                fields.update(value)
            else:
                fields[location] = value
        return fields
    return {"_schema": messages}


def _field_paths(fields: dict[str, Any], prefix: str = "") -> list[str]:
    """Each refused field by its path: ``{"customer": {"address": {"country": [...]}}}`` is
    ``customer.address.country`` (as the domain's own errors name them, ``lines.0.sku``)."""
    paths = []
    for name, value in fields.items():
        path = f"{prefix}{name}"
        paths += _field_paths(value, f"{path}.") if isinstance(value, dict) else [path]
    return paths


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if "messages" in data:
        fields = _field_messages(data["messages"])
        if status == 400:
            return error_response(
                400,
                "malformed_request",
                "The request body is not valid JSON.",
                {"fields": fields},
                headers,
            )
        names = ", ".join(sorted(_field_paths(fields)))
        return error_response(
            status, "validation_error", f"Invalid input: {names}.", {"fields": fields}, headers
        )
    if isinstance(error, InternalServerError):
        original = getattr(error, "original_exception", None)
        if original is not None:
            return handle_unexpected(original)
    message = data.get("message") or error.description or error.name
    return error_response(status, HTTP_CODES.get(status, "http_error"), message, None, headers)


def handle_domain_error(error: DomainError) -> Response:
    status = next(code for cls, code in DOMAIN_STATUS if isinstance(error, cls))
    details = dict(error.details)
    if isinstance(error, InvalidInput):
        details.setdefault("fields", {error.field: [error.message]})
    return error_response(status, error.code, error.message, details)


def handle_integrity_error(error: IntegrityError) -> Response:
    # Reached only when a concurrent request won a race the services' own checks could not see.
    log.info("integrity error mapped to 409: %s", error.orig)
    return error_response(
        409,
        "conflict",
        "The change conflicts with data saved at the same time; reload and try again.",
    )


def handle_operational_error(error: DBAPIError) -> Response:
    """The database went away (restart, fail-over) or refused a connection: 503 with
    Retry-After, nothing saved. The pool drops the dead connection (``connection_invalidated``)
    and pre-pings the next one, so requests after the outage work again by themselves."""
    log.error("database unavailable: %s", error)
    return error_response(
        503,
        "database_unavailable",
        "The database is not reachable right now; nothing was saved. Try again.",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(error: BaseException) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if isinstance(error, DomainError):
        return handle_domain_error(error)
    if isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        return handle_operational_error(error)
    log.exception("unhandled error", exc_info=error)
    return error_response(
        500, "internal_error", "Something went wrong on our side; it has been logged."
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(InterfaceError, handle_operational_error)
    app.register_error_handler(Exception, handle_unexpected)
