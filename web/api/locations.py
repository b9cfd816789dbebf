from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.models import Role
from web.api.auth import ALL_ROLES, roles
from web.api.pagination import decode_typed_cursor, page
from web.api.schemas import (
    LocationQuerySchema,
    LocationSchema,
    SupplierQuerySchema,
    SupplierSchema,
    page_of,
)
from web.extensions import services

locations = Blueprint(
    "locations",
    __name__,
    url_prefix="/api/v1/locations",
    description="Warehouses and bins (codes like MAIN/A-01-03)",
)
suppliers = Blueprint(
    "suppliers", __name__, url_prefix="/api/v1/suppliers", description="Suppliers"
)


@locations.get("")
@roles(*ALL_ROLES)
@locations.arguments(LocationQuerySchema, location="query", as_kwargs=True)
@locations.response(200, page_of(LocationSchema, "LocationPage"))
def list_locations(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """List locations in code order."""
    rows = services().inventory.list_locations(
        after=decode_typed_cursor(cursor, str), limit=limit + 1, **filters
    )
    return page(rows, limit, key=lambda location: location.code)


@locations.post("")
@roles(Role.ADMIN, Role.WAREHOUSE)
@locations.arguments(LocationSchema)
@locations.response(201, LocationSchema)
def create_location(data: dict[str, Any]) -> Any:
    """Create a location: storage, receiving, quarantine or returns."""
    return services().inventory.create_location(**data)


@suppliers.get("")
@roles(*ALL_ROLES)
@suppliers.arguments(SupplierQuerySchema, location="query", as_kwargs=True)
@suppliers.response(200, page_of(SupplierSchema, "SupplierPage"))
def list_suppliers(limit: int, cursor: str | None) -> dict[str, Any]:
    """List suppliers in code order."""
    rows = services().inventory.list_suppliers(
        after=decode_typed_cursor(cursor, str), limit=limit + 1
    )
    return page(rows, limit, key=lambda supplier: supplier.code)


@suppliers.post("")
@roles(Role.ADMIN, Role.BUYER)
@suppliers.arguments(SupplierSchema)
@suppliers.response(201, SupplierSchema)
def create_supplier(data: dict[str, Any]) -> Any:
    """Create a supplier."""
    return services().inventory.create_supplier(**data)
