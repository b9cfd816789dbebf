"""One error hierarchy for the whole domain.

The web layer maps each family to an HTTP status in one place (``web/errors.py``);
the domain only says what went wrong, with a stable machine-readable ``code``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFound(DomainError):
    """The thing addressed (by URL or by id) does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """Well-formed input that breaks a rule: names the offending ``field``."""

    code = "invalid_input"

    def __init__(self, field: str, message: str, *, code: str | None = None, **details: Any):
        super().__init__(message, code=code, field=field, **details)
        self.field = field


class Conflict(DomainError):
    """The request is valid but clashes with the current state (stock, status, uniqueness)."""

    code = "conflict"
