"""The JSON API under /api/v1, documented as OpenAPI 3 at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import HTTPException

from web import errors
from web.api import locations, parts, stock
from web.api.schemas import ErrorSchema

ASSETS_URL = "/api/v1/docs/assets/"


class SpareflowApi(Api):
    ERROR_SCHEMA = ErrorSchema

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
            "info": {
                "description": "Spare-parts inventory and returns. Every call needs "
                "`Authorization: Bearer <token>` (`spareflow tokens create EMAIL`)."
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "spareflow API token"}
    )
    for blueprint in (
        parts.blp,
        locations.locations,
        locations.suppliers,
        stock.stock,
        stock.reservations,
    ):
        api.register_blueprint(blueprint)

    @app.get(ASSETS_URL + "<path:filename>")
    def swagger_ui_assets(filename: str) -> Any:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    return api
