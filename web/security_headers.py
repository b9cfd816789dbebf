"""Security headers on every response, set in one place.

- ``Content-Security-Policy``: scripts, styles and images only from this app (images also as
  ``data:`` URLs), no inline script, no inline style, no plugins, no framing, forms post only
  here. Behaviour lives in ``web/static/*.js``, looks in ``web/static/*.css``.
- ``X-Content-Type-Options: nosniff``; ``Referrer-Policy: same-origin`` (``no-referrer`` on the
  customer's status page, whose URL is the customer's key).
- ``Strict-Transport-Security`` when the request came over HTTPS (behind a proxy, set
  ``PROXY_HOPS`` so ``X-Forwarded-Proto`` is believed).
- ``Cache-Control: no-store`` on pages for a signed-in user, on API answers and on the status
  page, so a shared computer's back button or a proxy cache never shows them to the next
  person. Static files and the API's own description keep their caching.
"""

from __future__ import annotations

from flask import Flask, Response, request, session

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"
STATUS_PAGE_PREFIX = "/status/"
#: The API's own description and the Swagger UI's files: the same for everyone, cacheable.
PUBLIC_API_PATHS = ("/api/v1/docs", "/api/v1/openapi.json")


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # A view may set a policy of its own for one answer (the sandboxed e-mail preview).
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    status_page = request.path.startswith(STATUS_PAGE_PREFIX)
    headers["Referrer-Policy"] = "no-referrer" if status_page else "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if status_page or _private():
        headers["Cache-Control"] = "no-store"
    return response


def _private() -> bool:
    """A page for a signed-in user, or an API answer (a bearer token's data)."""
    if request.endpoint == "static" or request.path.startswith(PUBLIC_API_PATHS):
        return False
    if request.path.startswith("/api/"):
        return True
    # The session names a user (read without a database query, so it holds on error pages too).
    return "_user_id" in session
