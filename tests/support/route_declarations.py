"""The app's routes as the role-matrix tests see them: straight from its URL map.

Every view carries ``allowed_roles``: a set of roles (pages: ``roles_required`` and
``signed_in``, web/pages/access.py; the API: ``roles``, web/api/auth.py) or ``"public"``
(``public(why)`` / ``declare_public``). A route whose view has none is undeclared, and the
matrix tests name it.
"""

from __future__ import annotations

from typing import Any

from web.pages.access import PUBLIC

Declared = frozenset[Any] | str


def routes(app: Any, *, api: bool) -> dict[tuple[str, str], Any]:
    """(method, rule) -> view of the API's routes (``api=True``) or of every other route."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") != api:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[(method, rule.rule)] = app.view_functions[rule.endpoint]
    return found


def undeclared(app: Any) -> list[str]:
    """Every route whose view does not say who may call it, as ``METHOD /rule (endpoint)``."""
    missing = []
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "allowed_roles", None) is None:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return sorted(missing)


def declared(view: Any) -> Declared:
    roles = view.allowed_roles
    return PUBLIC if roles == PUBLIC else frozenset(roles)


def undeclared_message(app: Any) -> str:
    return (
        "routes that do not declare who may call them (add @roles_required, @signed_in or "
        "@public(why) to a page, @roles to an API view, then a line in the role tables): "
        + ", ".join(undeclared(app))
    )
