"""Loaners: lend one on an RMA, get it back, charge for it or write it off (supervisors), and
list those out or overdue. The rules are returns/loans.py's."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from accounts.models import Role
from returns.loans import LendLoaner, LoanView
from web.api.auth import current_api_user, roles
from web.api.fields import Text
from web.api.schemas import StrictSchema, amount_in_range
from web.extensions import services

rma_loans_blp = Blueprint(
    "rma_loans",
    __name__,
    url_prefix="/api/v1/returns",
    description="Loaners lent on an RMA",
)
blp = Blueprint(
    "loans",
    __name__,
    url_prefix="/api/v1/loans",
    description="Loaners: out, overdue, returned, charged, written off",
)

#: The desk lends; the warehouse takes loaners back; supervisors (admins) charge or write off.
LENDERS = (Role.ADMIN, Role.SERVICE_DESK, Role.WAREHOUSE)
STATUSES = ("out", "overdue", "returned", "charged", "written_off", "all")


class LoanSchema(Schema):
    id = fields.Integer()
    rma_number = fields.String(attribute="rma", metadata={"example": "RMA-20261123-0042"})
    customer_name = fields.String()
    sku = fields.String()
    part_name = fields.String()
    serial = fields.String()
    pool = fields.String(metadata={"description": "The loan-pool location it came from."})
    status = fields.String(metadata={"description": "out, returned, charged or written_off"})
    overdue = fields.Boolean()
    lent_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime()
    lent_by = fields.String()
    returned_at = fields.AwareDateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    reason = fields.String()
    charge_amount = fields.Decimal(places=4, as_string=True, allow_none=True)
    charge_currency = fields.String(allow_none=True)


class LendSchema(StrictSchema):
    sku = Text(64, min_length=1, required=True, metadata={"example": "PHONE-X"})
    pool = Text(
        64,
        load_default=None,
        metadata={"description": "A loan-pool location; none: the pool with most free units."},
    )
    serial = Text(100, load_default="")
    due_at = fields.AwareDateTime(
        load_default=None, metadata={"description": "Default: 14 days from now."}
    )


class ReturnLoanSchema(StrictSchema):
    damaged = fields.Boolean(load_default=False)
    quarantine = Text(
        64, load_default="", metadata={"description": "The quarantine location, when damaged."}
    )
    note = Text(500, load_default="")


class ChargeSchema(StrictSchema):
    amount = fields.Decimal(
        required=True,
        places=4,
        as_string=True,
        allow_nan=False,
        validate=amount_in_range,
        metadata={"type": "string", "format": "decimal", "example": "80.0000"},
    )
    reason = Text(2000, min_length=1, required=True)


class WriteOffSchema(StrictSchema):
    reason = Text(2000, min_length=1, required=True)


class LoanQuerySchema(StrictSchema):
    status = fields.String(
        load_default="out",
        validate=validate.OneOf(STATUSES),
        metadata={"description": "out (default), overdue, returned, charged, written_off, all"},
    )
    rma = Text(32, load_default=None)


def _actor() -> str:
    return current_api_user().email


def _supervisor() -> bool:
    return current_api_user().role is Role.ADMIN


@rma_loans_blp.post("/<rma>/loans")
@roles(*LENDERS)
@rma_loans_blp.arguments(LendSchema)
@rma_loans_blp.response(201, LoanSchema)
def lend(data: dict[str, Any], rma: str) -> LoanView:
    """Lend a loaner to the RMA's customer from a loan pool, due back by `due_at`;
    `409 loaner_unavailable` when the pool has no free unit of the part."""
    return services().returns.loans.lend(_actor(), rma, LendLoaner(**data))


@blp.get("")
@roles(*LENDERS)
@blp.arguments(LoanQuerySchema, location="query", as_kwargs=True)
@blp.response(200, LoanSchema(many=True))
def list_loans(status: str, rma: str | None) -> list[LoanView]:
    """Loaners by status, earliest due first (at most 500)."""
    return services().returns.loans.listing(status, rma)


@blp.get("/<int(max=2147483647):loan_id>")
@roles(*LENDERS)
@blp.response(200, LoanSchema)
def get_loan(loan_id: int) -> LoanView:
    """One loan."""
    return services().returns.loans.get(loan_id)


@blp.post("/<int(max=2147483647):loan_id>/return")
@roles(*LENDERS)
@blp.arguments(ReturnLoanSchema)
@blp.response(200, LoanSchema)
def return_loan(data: dict[str, Any], loan_id: int) -> LoanView:
    """The loaner is back: into its pool, or into `quarantine` when `damaged`."""
    return services().returns.loans.return_loaner(_actor(), loan_id, **data)


@blp.post("/<int(max=2147483647):loan_id>/charge")
@roles(Role.ADMIN)
@blp.arguments(ChargeSchema)
@blp.response(200, LoanSchema)
def charge(data: dict[str, Any], loan_id: int) -> LoanView:
    """Supervisor: the customer keeps the loaner and is charged `amount` (recorded only; no
    payment is taken); the unit leaves stock by an issue."""
    return services().returns.loans.charge(
        _actor(), loan_id, data["amount"], data["reason"], supervisor=_supervisor()
    )


@blp.post("/<int(max=2147483647):loan_id>/write-off")
@roles(Role.ADMIN)
@blp.arguments(WriteOffSchema)
@blp.response(200, LoanSchema)
def write_off(data: dict[str, Any], loan_id: int) -> LoanView:
    """Supervisor: the loaner is lost; it leaves stock by an adjustment, with the reason."""
    return services().returns.loans.write_off(
        _actor(), loan_id, data["reason"], supervisor=_supervisor()
    )
