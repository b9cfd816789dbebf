"""Who may open a page: checked on the server, whatever the navigation shows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort
from flask_babel import gettext as _
from flask_login import current_user

from accounts.models import Role
from web.extensions import login_manager
from web.labels import label

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*allowed: Role) -> Callable[[F], F]:
    """Signed-out visitors go to the sign-in page; signed-in users of another role get 403."""
    allowed_set = frozenset(allowed)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed_set:
                names = ", ".join(sorted(label(role) for role in allowed_set))
                abort(403, description=_("This page is for these roles: %(roles)s.", roles=names))
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed_set  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


#: ``allowed_roles`` of a route anyone may call: it proves who is calling some other way.
PUBLIC = "public"


def public(why: str) -> Callable[[F], F]:
    """Declare a route open to everyone, saying what protects it instead (a signature, a
    random link, nothing because it only signs in). The role-matrix test reads the mark."""

    def decorator(view: F) -> F:
        view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
        view.public_because = why  # type: ignore[attr-defined]
        return view

    return decorator


def declare_public(app: Flask, endpoint: str, why: str) -> None:
    """:func:`public` for a route that Flask or an extension registers itself (static files,
    the OpenAPI document): its view is wrapped, as a bound method takes no attributes."""
    view = app.view_functions[endpoint]

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    app.view_functions[endpoint] = public(why)(wrapper)


def signed_in(view: F) -> F:
    """Any signed-in user, whatever their role (their own account, sign-out)."""
    return roles_required(*Role)(view)
