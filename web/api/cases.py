"""The desk's cases that are not returns (enquiries, complaints), and the follow-up calls."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from accounts.models import Role
from returns.cases import MOVES, ConvertComplaint, OpenCase
from returns.commands import ReturnLine
from returns.followups import FollowUpOutcome, FollowUpStatus, RecordCall
from returns.queries import RmaFilter
from returns.status import CaseKind, Channel, Priority, Reason, Resolution, RmaStatus, RootCause
from web.api.auth import current_api_user, roles
from web.api.fields import Quantity, Text
from web.api.pagination import decode_typed_cursor, page
from web.api.returns import PRICE, CloseSchema, RmaSchema, RmaSummarySchema
from web.api.returns_input import CustomerSchema
from web.api.schemas import PageQuerySchema, page_of
from web.extensions import services

blp = Blueprint(
    "cases_api",
    __name__,
    url_prefix="/api/v1/cases",
    description="Enquiries and complaints: cases that are not returns; follow-up calls",
)

DESK = (Role.ADMIN, Role.SERVICE_DESK)
CASE_KINDS = [CaseKind.ENQUIRY, CaseKind.COMPLAINT]


# --- input -------------------------------------------------------------------------------


class OpenCaseSchema(Schema):
    kind = fields.Enum(
        CaseKind,
        by_value=True,
        required=True,
        validate=validate.OneOf(CASE_KINDS),
        metadata={"description": "enquiry (a technical question) or complaint"},
    )
    customer = fields.Nested(CustomerSchema, required=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    description = Text(5000, min_length=1, required=True)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.MEDIUM)
    order_number = Text(100, load_default=None, allow_none=True)
    purchase_date = fields.Date(load_default=None, allow_none=True)
    root_cause = fields.Enum(
        RootCause,
        by_value=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Required for a complaint, refused for an enquiry"},
    )

    @validates_schema
    def _root_cause(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") is CaseKind.COMPLAINT and data.get("root_cause") is None:
            raise ValidationError({"root_cause": ["A complaint needs its root cause."]})
        if data.get("kind") is CaseKind.ENQUIRY and data.get("root_cause") is not None:
            raise ValidationError({"root_cause": ["Only a complaint has a root cause."]})

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> OpenCase:
        return OpenCase(**data)


class CasesQuerySchema(PageQuerySchema):
    kind = fields.Enum(
        CaseKind,
        by_value=True,
        load_default=None,
        metadata={"description": "enquiry, complaint or return; neither: enquiries and complaints"},
    )
    state = fields.Enum(RmaStatus, by_value=True, load_default=None)
    priority = fields.Enum(Priority, by_value=True, load_default=None)
    customer = Text(254, load_default=None)


class CaseMoveSchema(Schema):
    reason = Text(1000, load_default="", metadata={"description": "Required to reopen"})


class ConvertComplaintLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    serial = Text(100, load_default=None, allow_none=True)
    unit_price = fields.Decimal(required=True, **PRICE)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ReturnLine:
        return ReturnLine(**data)


class ConvertComplaintSchema(Schema):
    """The return's lines, reason and resolution; the customer, channel, order and priority
    come from the complaint."""

    lines = fields.List(
        fields.Nested(ConvertComplaintLineSchema),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    reason = fields.Enum(Reason, by_value=True, required=True)
    resolution = fields.Enum(Resolution, by_value=True, required=True)
    payment_reference = Text(100, load_default=None, allow_none=True)
    purchase_date = fields.Date(load_default=None, allow_none=True)
    order_number = Text(100, load_default=None, allow_none=True)
    description = Text(5000, load_default="")

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ConvertComplaint:
        return ConvertComplaint(**{**data, "lines": tuple(data["lines"])})


class FollowUpListQuerySchema(Schema):
    status = fields.Enum(FollowUpStatus, by_value=True, load_default=FollowUpStatus.DUE)


class FollowUpCallSchema(Schema):
    outcome = fields.Enum(FollowUpOutcome, by_value=True, required=True)
    satisfaction = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "1-5; required when the customer was reached"},
    )
    notes = Text(2000, load_default="")

    @validates_schema
    def _score(self, data: dict[str, Any], **_: Any) -> None:
        reached = data.get("outcome") is FollowUpOutcome.REACHED
        if reached and data.get("satisfaction") is None:
            raise ValidationError({"satisfaction": ["Give the customer's score (1-5)."]})
        if not reached and data.get("satisfaction") is not None:
            raise ValidationError({"satisfaction": ["Only a customer reached gives a score."]})

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RecordCall:
        return RecordCall(**data)


# --- output ------------------------------------------------------------------------------


class FollowUpCallOutSchema(Schema):
    id = fields.Integer()
    rma_number = fields.String(attribute="number")
    kind = fields.Enum(CaseKind, by_value=True)
    round = fields.Integer(metadata={"description": "1 after closing; 2 a VIP's repeat call"})
    status = fields.Enum(FollowUpStatus, by_value=True)
    due_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    attempts = fields.Integer()
    outcome = fields.Enum(FollowUpOutcome, by_value=True, allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    notes = fields.String()
    called_by = fields.String(allow_none=True)
    called_at = fields.AwareDateTime(allow_none=True)
    priority = fields.Enum(Priority, by_value=True)
    customer_name = fields.String()
    customer_phone = fields.String(allow_none=True)
    vip = fields.Boolean()


# --- endpoints ---------------------------------------------------------------------------


def _actor() -> str:
    return current_api_user().email


@blp.post("")
@roles(*DESK)
@blp.arguments(OpenCaseSchema)
@blp.response(201, RmaSchema)
def create(command: OpenCase) -> Any:
    """Open an enquiry or a complaint: the next RMA number, its priority (raised for a VIP)
    and its service-level clocks, at once."""
    return services().returns.cases.open(_actor(), command)


@blp.get("")
@roles(*DESK)
@blp.arguments(CasesQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(RmaSummarySchema, "CasePage"))
def list_cases(limit: int, cursor: str | None, kind: CaseKind | None, **filters: Any) -> Any:
    """Enquiries and complaints (or one kind; ``kind=return`` lists returns), newest first."""
    kinds = (kind,) if kind else tuple(CASE_KINDS)
    rows = services().rma_queries.matching(
        RmaFilter(
            status=filters.pop("state"),
            kinds=kinds,
            after=decode_typed_cursor(cursor, int),
            limit=limit + 1,
            **filters,
        )
    )
    return page(rows, limit, key=lambda rma: rma.id)


@blp.get("/<rma>")
@roles(*DESK)
@blp.response(200, RmaSchema)
def get(rma: str) -> Any:
    """One case (of any kind) with its timeline and service-level clocks."""
    return services().rma_queries.get(rma)


def _move(move: str) -> Any:
    @roles(*DESK)
    @blp.arguments(CaseMoveSchema)
    @blp.response(200, RmaSchema)
    def endpoint(data: dict[str, Any], rma: str) -> Any:
        return services().returns.cases.move(_actor(), rma, move, data["reason"])

    endpoint.__name__ = endpoint.__qualname__ = f"move_{move}"
    endpoint.__doc__ = {
        "wait": "Waiting for the customer (the desk asked something).",
        "answer": "Answered: the desk has answered the customer.",
        "resolve": "Resolved: the customer's question or complaint is settled.",
        "reopen": "Reopen a resolved or closed case (give the reason); a follow-up still due "
        "is cancelled.",
    }[move]
    return blp.post(f"/<rma>/{move}")(endpoint)


for _name in MOVES:
    _move(_name)


@blp.post("/<rma>/close")
@roles(*DESK)
@blp.arguments(CloseSchema)
@blp.response(200, RmaSchema)
def close(data: dict[str, Any], rma: str) -> Any:
    """Close a resolved case; its follow-up call becomes due (per kind and priority)."""
    return services().returns.closing.close(_actor(), rma, data["reason"])


@blp.post("/<rma>/convert")
@roles(*DESK)
@blp.arguments(ConvertComplaintSchema)
@blp.response(201, RmaSchema)
def convert(command: ConvertComplaint, rma: str) -> Any:
    """Turn a complaint into a return: answers with the new RMA, linked to the complaint (a
    line on both timelines). `422 not_a_complaint`, `case_closed`."""
    return services().returns.cases.convert(_actor(), rma, command)


@blp.get("/followups")
@roles(*DESK)
@blp.arguments(FollowUpListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, FollowUpCallOutSchema(many=True))
def followups(status: FollowUpStatus) -> Any:
    """Follow-up calls: due ones (the most overdue first), or those done or cancelled."""
    return services().returns.followups.queue(status)


@blp.post("/followups/<int(max=2147483647):followup_id>/calls")
@roles(*DESK)
@blp.arguments(FollowUpCallSchema)
@blp.response(200, FollowUpCallOutSchema)
def record_call(call: RecordCall, followup_id: int) -> Any:
    """Record a call: its outcome, the satisfaction score (when reached) and notes. No answer
    or voicemail leaves the follow-up due again later; a VIP reached is called once more."""
    return services().returns.followups.record(_actor(), followup_id, call)
