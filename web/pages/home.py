"""Where each role starts: its own work, not the parts list (issue #21).

The warehouse lands on its scan home (goods in, moves, the pick queue), the service desk on
its returns queue, buyers on the reorder page; admins keep the parts list. Used after signing
in (when no other page was asked for) and by the header's brand link.
"""

from __future__ import annotations

from flask import Flask, url_for
from flask_login import current_user

from accounts.models import Role, User

HOME_ENDPOINTS = {
    Role.WAREHOUSE: "warehouse.index",
    Role.SERVICE_DESK: "desk.queue",
    Role.BUYER: "buying.reorder",
    Role.ADMIN: "inventory.parts",
}


def home_url(user: User | None = None) -> str:
    """The page ``user`` (default: the signed-in user) starts on."""
    user = user if user is not None else current_user
    role = getattr(user, "role", None)
    return url_for(HOME_ENDPOINTS.get(role, "inventory.parts"))  # type: ignore[arg-type]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["home_url"] = home_url
