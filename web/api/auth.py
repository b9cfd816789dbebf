"""Bearer-token authentication and per-endpoint roles for the JSON API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import Blueprint

from accounts.models import Role, User
from core.db import one_connection
from web.errors import error_response
from web.extensions import services

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = tuple(Role)


def current_api_user() -> User:
    return g.api_user


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _unauthorized() -> Any:
    return error_response(
        401,
        "unauthorized",
        "Send a valid API token: 'Authorization: Bearer <token>'.",
        headers={"WWW-Authenticate": 'Bearer realm="spareflow"'},
    )


def roles(*allowed: Role) -> Callable[[F], F]:
    """Only these roles may call the endpoint (admin must be listed too, explicitly).

    401 without a valid token, 403 with a token of another role. The roles are also written
    to the OpenAPI document (``x-roles``) and read by the role-matrix test.
    """
    allowed_set = frozenset(allowed)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _bearer_token()
            if not token:
                return _unauthorized()
            # The token lookup and the use case take a connection from the pool once.
            with one_connection(services().engine):
                user = services().auth.user_for_token(token)
                if user is None:
                    return _unauthorized()
                if user.role not in allowed_set:
                    names = ", ".join(sorted(r.value for r in allowed_set))
                    return error_response(
                        403,
                        "forbidden",
                        f"This needs one of the roles: {names}; you are {user.role.value}.",
                    )
                g.api_user = user
                return view(*args, **kwargs)

        wrapper.allowed_roles = allowed_set  # type: ignore[attr-defined]
        documented = Blueprint.doc(
            security=[{"bearerAuth": []}],
            responses={
                "401": _error_response("No valid API token."),
                "403": _error_response("The token's role may not call this endpoint."),
            },
            **{"x-roles": sorted(r.value for r in allowed_set)},
        )
        return documented(wrapper)  # type: ignore[return-value]

    return decorator
