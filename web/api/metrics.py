"""The returns desk's figures for a period: ``GET /api/v1/metrics?from=&to=``.

Definitions are in returns/metrics.py and docs/metrics.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema
from webargs.fields import DelimitedList

from accounts.models import Role
from returns.metrics_figures import SECTIONS, Metrics
from returns.metrics_maths import MAX_PERIOD_DAYS, ROLLING_DAYS
from returns.status import Reason
from web.api.auth import roles
from web.api.schemas import StrictSchema
from web.extensions import services

blp = Blueprint(
    "metrics",
    __name__,
    url_prefix="/api/v1/metrics",
    description="Marketplace and service figures of the returns desk",
)

READERS = (Role.ADMIN, Role.BUYER, Role.SERVICE_DESK)


class PeriodQuerySchema(StrictSchema):
    first = fields.Date(
        data_key="from",
        load_default=None,
        metadata={"description": f"First day (UTC), default: {ROLLING_DAYS - 1} days before `to`"},
    )
    last = fields.Date(
        data_key="to",
        load_default=None,
        metadata={"description": "Last day (UTC), included; default: today"},
    )

    @validates_schema
    def _a_sensible_period(self, data: dict[str, Any], **kwargs: Any) -> None:
        first, last = data.get("first"), data.get("last")
        if first is None or last is None:
            return
        if last < first:
            raise ValidationError("The period ends before it starts.", "to")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise ValidationError(f"A period is at most {MAX_PERIOD_DAYS} days.", "to")


class MetricsQuerySchema(PeriodQuerySchema):
    include = DelimitedList(
        fields.String(validate=validate.OneOf(SECTIONS)),
        load_default=lambda: list(SECTIONS),
        metadata={
            "description": "Comma-separated sections to compute (default: all of them): "
            + ", ".join(f"`{s}`" for s in SECTIONS)
            + ". `period`, `generated_at`, `overall` and `rolling_28_days` always come; a "
            "section left out is absent from the answer. `include=weekly` is the cheap "
            "summary a dashboard polls (a year of a big seller within twice the time of a "
            "plain SQL aggregate of the same figures, docs/metrics.md)."
        },
    )


# --- output ------------------------------------------------------------------------------

DAYS = {"metadata": {"description": "days"}, "allow_none": True}


class DurationSchema(Schema):
    count = fields.Integer()
    mean_days = fields.Float(attribute="mean", **DAYS)
    median_days = fields.Float(attribute="median", **DAYS)
    p90_days = fields.Float(attribute="p90", **DAYS)


class ResponseHoursSchema(Schema):
    count = fields.Integer()
    mean_hours = fields.Float(attribute="mean", allow_none=True)
    median_hours = fields.Float(attribute="median", allow_none=True)
    p90_hours = fields.Float(attribute="p90", allow_none=True)


class ScoreSchema(Schema):
    count = fields.Integer()
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)


class RateSchema(Schema):
    part = fields.Integer()
    whole = fields.Integer()
    rate = fields.Float(
        attribute="value",
        allow_none=True,
        metadata={"description": "part / whole, 0 to 1; null when whole is 0"},
    )


class FiguresSchema(Schema):
    requests = fields.Integer(metadata={"description": "RMAs created in the period"})
    refunds_completed = fields.Integer()
    refund_time = fields.Nested(
        DurationSchema, metadata={"description": "Request to refund released"}
    )
    replacement_time = fields.Nested(
        DurationSchema, metadata={"description": "Request to first replacement shipped"}
    )
    self_completion = fields.Nested(
        RateSchema, metadata={"description": "Refunds completed without a dispute / completed"}
    )
    disputes = fields.Nested(RateSchema, metadata={"description": "Disputed / requests"})
    response_on_target = fields.Nested(
        RateSchema, metadata={"description": "First responses by their deadline / due or done"}
    )
    response_within_24h = fields.Nested(
        RateSchema, metadata={"description": "First responses within 24 h / 24 h old or done"}
    )
    response_breaches = fields.Integer()
    resolution_breaches = fields.Integer()
    satisfaction = fields.Nested(ScoreSchema)
    satisfied = fields.Nested(RateSchema, metadata={"description": "Scores of 4 or 5 / scores"})
    confirmed_fixed = fields.Nested(RateSchema)


class GroupSchema(Schema):
    key = fields.String(metadata={"description": "enum value, SKU or supplier code"})
    label = fields.String()
    figures = fields.Nested(FiguresSchema)


class WeekSchema(Schema):
    week_start = fields.Function(
        lambda week: week.start.date().isoformat(),
        metadata={"type": "string", "format": "date", "description": "Monday (UTC)"},
    )
    figures = fields.Nested(FiguresSchema)


class BucketSchema(Schema):
    low_days = fields.Float(attribute="low")
    high_days = fields.Float(attribute="high", allow_none=True)
    label = fields.String()
    count = fields.Integer()


class ReasonUnitsSchema(Schema):
    reason = fields.Function(
        lambda pair: pair[0].value, metadata={"type": "string", "enum": [r.value for r in Reason]}
    )
    units = fields.Function(lambda pair: pair[1], metadata={"type": "integer"})


class ReturnRateSchema(Schema):
    key = fields.String(metadata={"description": "SKU or supplier code"})
    name = fields.String()
    returned_units = fields.Integer()
    shipped_units = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "returned / shipped units"})
    top_reasons = fields.List(fields.Nested(ReasonUnitsSchema))


class ReturnRatesSchema(Schema):
    parts = fields.List(fields.Nested(ReturnRateSchema))
    suppliers = fields.List(fields.Nested(ReturnRateSchema))


class WhatIfSchema(Schema):
    refunds = fields.Integer()
    arrived = fields.Integer()
    not_arrived = fields.Integer()
    from_carrier = fields.Integer(metadata={"description": "Arrival from a delivered event"})
    from_receipt = fields.Integer(metadata={"description": "Arrival from our own receipt"})
    actual = fields.Nested(DurationSchema)
    actual_arrived = fields.Nested(DurationSchema)
    hypothetical = fields.Nested(
        DurationSchema, metadata={"description": "Request to the parcel reaching the warehouse"}
    )
    extra_days = fields.Nested(DurationSchema)
    actual_histogram = fields.List(fields.Nested(BucketSchema))
    hypothetical_histogram = fields.List(fields.Nested(BucketSchema))


class LabelCostSchema(Schema):
    currency = fields.String()
    labels = fields.Integer(metadata={"description": "RMAs of the period with a bought label"})
    total_minor = fields.Integer()
    mean_minor = fields.Float(metadata={"description": "Return shipping cost per RMA"})
    refunded = fields.Integer(metadata={"description": "Labels refunded unused"})
    net_minor = fields.Integer(metadata={"description": "Total less the refunded labels"})


class TransitTimeSchema(Schema):
    carrier = fields.String()
    days = fields.Nested(
        DurationSchema, metadata={"description": "Pickup scan to delivery at the warehouse"}
    )


class DeskFiguresSchema(Schema):
    id = fields.Integer(attribute="key", metadata={"description": "user id or team id"})
    name = fields.String()
    handled = fields.Integer(metadata={"description": "Cases opened in the period it owns"})
    first_response_hours = fields.Nested(ResponseHoursSchema)
    resolution_hours = fields.Nested(ResponseHoursSchema)
    reopened = fields.Nested(RateSchema, metadata={"description": "Reopened / resolved"})
    satisfaction = fields.Nested(ScoreSchema)
    response_breaches = fields.Integer()
    resolution_breaches = fields.Integer()


class PeriodSchema(Schema):
    first = fields.Date(attribute="first_day", data_key="from")
    last = fields.Date(attribute="last_day", data_key="to")
    start = fields.AwareDateTime()
    end = fields.AwareDateTime(metadata={"description": "exclusive"})


class RollingSchema(Schema):
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()
    self_completion = fields.Nested(RateSchema)


#: The answer's keys of each section (returns.metrics_figures.SECTIONS).
SECTION_KEYS = {
    "weekly": ("weekly",),
    "breakdowns": ("by_priority", "by_channel", "by_reason", "by_part", "by_supplier"),
    "what_if": ("what_if", "refund_time_histogram"),
    "return_rates": ("return_rates",),
    "shipping": ("label_costs", "transit_times"),
    "repairs": ("repair_turnaround",),
    "desk": ("desk_people", "desk_teams"),
}


class MetricsSchema(Schema):
    period = fields.Nested(PeriodSchema)
    generated_at = fields.AwareDateTime()
    overall = fields.Nested(FiguresSchema)
    rolling_28_days = fields.Nested(
        RollingSchema,
        attribute="rolling_summary",
        metadata={"description": "Self-completion over the 28 days ending with the period"},
    )
    by_priority = fields.List(fields.Nested(GroupSchema))
    by_channel = fields.List(fields.Nested(GroupSchema))
    by_reason = fields.List(fields.Nested(GroupSchema))
    by_part = fields.List(fields.Nested(GroupSchema))
    by_supplier = fields.List(fields.Nested(GroupSchema))
    weekly = fields.List(fields.Nested(WeekSchema))
    refund_time_histogram = fields.List(fields.Nested(BucketSchema))
    return_rates = fields.Nested(ReturnRatesSchema)
    what_if = fields.Nested(WhatIfSchema)
    label_costs = fields.List(fields.Nested(LabelCostSchema))
    transit_times = fields.List(fields.Nested(TransitTimeSchema))
    repair_turnaround = fields.Nested(
        DurationSchema,
        metadata={"description": "Unit received to repaired unit shipped back (repairs)"},
    )
    desk_people = fields.List(
        fields.Nested(DeskFiguresSchema),
        metadata={"description": "Per person: the cases opened in the period they own"},
    )
    desk_teams = fields.List(
        fields.Nested(DeskFiguresSchema),
        metadata={"description": "Per team: the cases opened in the period routed through it"},
    )

    @post_dump(pass_original=True)
    def _only_the_sections_computed(
        self, data: dict[str, Any], metrics: Metrics, **kwargs: Any
    ) -> dict[str, Any]:
        for section, keys in SECTION_KEYS.items():
            if section not in metrics.sections:
                for key in keys:
                    data.pop(key, None)
        return data


@blp.get("")
@roles(*READERS)
@blp.arguments(MetricsQuerySchema, location="query", as_kwargs=True)
@blp.response(200, MetricsSchema)
def report(first: date | None, last: date | None, include: list[str]) -> Metrics:
    """Refund completion time, self-completion, disputes, response targets, return rates,
    satisfaction and the refund-on-receipt what-if, overall and by priority, channel,
    reason, part and supplier, with a weekly trend (``include`` picks the sections)."""
    metrics = services().metrics
    return metrics.report(metrics.asked(first, last), frozenset(include))
