"""The id of the request being served, carried into the work it causes.

The web app binds the request's id (``X-Request-ID``, or a new one) for the length of the
request (web/monitoring.py); an outbox message written meanwhile keeps it (core/outbox.py),
and the worker binds it again while it carries the message out. Log lines carry it
(core/logs.py), so a refund's web request and its provider call can be found together.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("spareflow_request_id", default=None)

#: What an incoming X-Request-ID may be: short, printable, no spaces (else a new one is made).
ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,64}$")


def current() -> str | None:
    return _current.get()


def new() -> str:
    return uuid.uuid4().hex


def accept(offered: str | None) -> str:
    """The client's id when it is a sensible one, else a new id."""
    if offered and ACCEPTED.match(offered):
        return offered
    return new()


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


def bind(request_id: str | None) -> object:
    """Bind without a ``with`` (the web's before/after request hooks); ``unbind`` the token."""
    return _current.set(request_id)


def unbind(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
