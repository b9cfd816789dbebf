"""The JSON API under /api/v1, documented as OpenAPI 3 at /api/v1/openapi.json."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import HTTPException

from web import errors
from web.api import (
    audit,
    cases,
    claims,
    desk_setup,
    emails,
    knowledge,
    loans,
    locations,
    metrics,
    order_sheets,
    orders,
    owners,
    parts,
    planning,
    public_returns,
    purchasing,
    repairs,
    replacements,
    returns,
    serials,
    shipments,
    stock,
)
from web.api.links import LinksPlugin
from web.api.schemas import ErrorSchema
from web.pages.access import declare_public, public

ASSETS_URL = "/api/v1/docs/assets/"
#: Why the API's own description needs no token: it holds no data, only what the API accepts.
API_DESCRIPTION = "the API's description: what it accepts and answers, no data"


BLUEPRINTS = (
    parts.blp,
    locations.locations,
    locations.suppliers,
    stock.stock,
    stock.reservations,
    serials.blp,
    shipments.blp,
    returns.returns_blp,
    cases.blp,
    replacements.blp,
    orders.blp,
    repairs.blp,
    *purchasing.BLUEPRINTS,
    planning.blp,
    order_sheets.blp,
    claims.blp,
    loans.rma_loans_blp,
    loans.blp,
    metrics.blp,
    owners.blp,
    owners.canned_blp,
    desk_setup.blp,
    knowledge.metrics_blp,
    knowledge.blp,
    knowledge.case_blp,
    emails.blp,
    audit.blp,
    public_returns.blp,
)


def _require_json_body() -> Any:
    """Writes to the API must say they send JSON; otherwise the body would be silently ignored."""
    if (
        request.path.startswith("/api/")
        and request.routing_exception is None  # unknown URL or method: let 404/405 answer
        and request.method in {"POST", "PUT", "PATCH"}
        and not request.is_json
        # File uploads are multipart; their schema refuses a request without the file.
        and not getattr(current_app.view_functions.get(request.endpoint), "accepts_upload", False)
    ):
        return errors.error_response(
            415, "unsupported_media_type", "Send a JSON body with 'Content-Type: application/json'."
        )
    return None


class SpareflowApi(Api):
    """flask-smorest's Api, documenting the blueprints when the OpenAPI document is first read.

    Documenting ~150 operations (apispec: schemas resolved, deep copies) is most of the cost
    of building an app, and few processes ever read the document: ``register_blueprint``
    registers the routes at once and keeps the documenting for the first read of ``spec``
    (openapi.json, Swagger UI, ``flask openapi``), which does it in the same order, so the
    document is the same as flask-smorest's eager one.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._undocumented: list[Callable[[Any], None]] = []
        self._documenting = threading.Lock()
        self._spec: Any = None
        super().__init__(*args, **kwargs)

    @property
    def spec(self) -> Any:
        if self._undocumented:
            with self._documenting:
                while self._undocumented:
                    self._undocumented.pop(0)(self._spec)
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def register_blueprint(
        self, blp: Any, *, parameters: list[Any] | None = None, **options: Any
    ) -> None:
        """``Api.register_blueprint`` with the documenting (its last two steps) kept for later."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        app = self._app

        def document(spec: Any) -> None:
            blp.register_views_in_doc(self, app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})

        self._undocumented.append(document)

    def handle_http_exception(self, error: HTTPException) -> Any:
        return errors.handle_http_exception(error)


def init_app(app: Flask) -> SpareflowApi:
    app.config.setdefault("API_TITLE", "spareflow")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    # Served from the installed swagger-ui-bundle package: no CDN, works offline.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", ASSETS_URL)
    api = SpareflowApi()
    api.init_app(
        app,
        spec_kwargs={
            "extra_plugins": [LinksPlugin()],
            "info": {
                "description": "Spare-parts inventory and returns. Every call needs "
                "`Authorization: Bearer <token>` (`spareflow tokens create EMAIL`)."
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "spareflow API token"}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    for endpoint in [e for e in app.view_functions if e.startswith("api-docs.")]:
        declare_public(app, endpoint, API_DESCRIPTION)  # openapi.json and its Swagger UI
    app.before_request(_require_json_body)

    @app.get(ASSETS_URL + "<path:filename>")
    @public(API_DESCRIPTION)
    def swagger_ui_assets(filename: str) -> Any:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    return api
