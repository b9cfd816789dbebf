"""The desk's set-up: teams and members, each person's shifts and days off, the routing
rules. Admins change it; the desk reads it. The rules are returns/desk_setup.py's."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from accounts.models import Role
from returns.desk_setup import PersonShifts, Rule, RuleView, ShiftsPage, TeamView
from returns.shifts import Hours
from returns.status import Channel
from web.api.auth import roles
from web.api.fields import Text
from web.api.schemas import StrictSchema
from web.extensions import services

blp = Blueprint(
    "desk_setup",
    __name__,
    url_prefix="/api/v1/desk",
    description="Teams, shifts and days off, routing rules",
)

READERS = (Role.ADMIN, Role.SERVICE_DESK)
ID = {"validate": validate.Range(min=1, max=2**31 - 1)}
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="HH:MM, 00:00 to 24:00.")


def _clock_text(value: Any) -> str:
    """A clock time as sent: text (checked by ``HHMM`` next), never a number or a list."""
    if not isinstance(value, str):
        raise ValidationError("HH:MM, 00:00 to 24:00.")
    return value


def minutes(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class TeamSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    member_ids = fields.List(fields.Integer())
    members = fields.List(fields.String())


class TeamInputSchema(StrictSchema):
    name = Text(100, min_length=1, required=True)
    member_ids = fields.List(fields.Integer(**ID), load_default=list)


class ShiftHoursSchema(StrictSchema):
    weekday = fields.Integer(
        required=True, validate=validate.Range(0, 6), metadata={"description": "0 Monday"}
    )
    start = fields.Function(
        lambda h: hhmm(h.start_minute),
        deserialize=_clock_text,
        required=True,
        validate=HHMM,
        metadata={"example": "09:00"},
    )
    end = fields.Function(
        lambda h: hhmm(h.end_minute),
        deserialize=_clock_text,
        required=True,
        validate=HHMM,
        metadata={"example": "17:30", "description": "At or before start: ends the next day"},
    )
    time_zone = Text(64, load_default="UTC", metadata={"example": "Asia/Shanghai"})


class SetHoursSchema(StrictSchema):
    hours = fields.List(fields.Nested(ShiftHoursSchema), required=True)


class DaysOffSchema(Schema):
    starts_on = fields.Date()
    ends_on = fields.Date()


class DaysOffInputSchema(StrictSchema):
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = Text(200, load_default="")


class PersonShiftsSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    email = fields.String()
    hours = fields.List(fields.Nested(ShiftHoursSchema))
    days_off = fields.List(fields.Nested(DaysOffSchema))
    on_shift = fields.Boolean()


class ShiftsSchema(Schema):
    people = fields.List(fields.Nested(PersonShiftsSchema))
    uncovered = fields.List(
        fields.String(),
        metadata={
            "description": "This week's hours (UTC) nobody covers",
            "example": ["Sun 00:00-24:00"],
        },
    )


class RuleSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    channel = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    vip = fields.Boolean(allow_none=True)
    part_category = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    team_id = fields.Integer(allow_none=True)


class RuleInputSchema(StrictSchema):
    position = fields.Integer(load_default=0, validate=validate.Range(0, 10000))
    channel = fields.String(load_default=None, validate=validate.OneOf([c.value for c in Channel]))
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(["return", "enquiry", "complaint"]),
        metadata={"description": "return, enquiry or complaint; none: any"},
    )
    language = fields.String(load_default=None, validate=validate.OneOf(["en", "zh_Hans"]))
    vip = fields.Boolean(load_default=None, allow_none=True)
    part_category = Text(100, load_default=None)
    user_id = fields.Integer(load_default=None, **ID)
    team_id = fields.Integer(load_default=None, **ID)

    @validates_schema
    def _a_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("user_id") is None and data.get("team_id") is None:
            raise ValidationError("A rule routes to a person, a team, or both.", "team_id")


@blp.get("/teams")
@roles(*READERS)
@blp.response(200, TeamSchema(many=True))
def teams() -> list[TeamView]:
    """The desk's teams and their members."""
    return services().desk_setup.teams()


@blp.post("/teams")
@roles(Role.ADMIN)
@blp.arguments(TeamInputSchema)
@blp.response(201, TeamSchema)
def create_team(data: dict[str, Any]) -> TeamView:
    """Admin: a new team with its members (desk or admin users)."""
    return services().desk_setup.save_team(data["name"], data["member_ids"])


@blp.put("/teams/<int(max=2147483647):team_id>")
@roles(Role.ADMIN)
@blp.arguments(TeamInputSchema)
@blp.response(200, TeamSchema)
def update_team(data: dict[str, Any], team_id: int) -> TeamView:
    """Admin: rename a team and set its members."""
    return services().desk_setup.save_team(data["name"], data["member_ids"], team_id)


@blp.get("/shifts")
@roles(*READERS)
@blp.response(200, ShiftsSchema)
def shifts() -> ShiftsPage:
    """Everyone's working hours and days off, who is on shift now, and the hours of this
    week nobody covers."""
    return services().desk_setup.shifts()


@blp.put("/shifts/<int(max=2147483647):user_id>")
@roles(Role.ADMIN)
@blp.arguments(SetHoursSchema)
@blp.response(200, PersonShiftsSchema)
def set_hours(data: dict[str, Any], user_id: int) -> PersonShifts:
    """Admin: replace a person's working hours (per weekday, in a time zone)."""
    hours = [
        Hours(h["weekday"], minutes(h["start"]), minutes(h["end"]) % 1440 or 1440, h["time_zone"])
        for h in data["hours"]
    ]
    return services().desk_setup.set_hours(user_id, hours)


@blp.post("/shifts/<int(max=2147483647):user_id>/days-off")
@roles(Role.ADMIN)
@blp.arguments(DaysOffInputSchema)
@blp.response(201, PersonShiftsSchema)
def add_days_off(data: dict[str, Any], user_id: int) -> PersonShifts:
    """Admin: days off (holidays, sickness), inclusive."""
    return services().desk_setup.add_days_off(user_id, **data)


@blp.get("/routing-rules")
@roles(*READERS)
@blp.response(200, RuleSchema(many=True))
def rules() -> list[RuleView]:
    """The routing rules in the order they are tried."""
    return services().desk_setup.rules()


@blp.post("/routing-rules")
@roles(Role.ADMIN)
@blp.arguments(RuleInputSchema)
@blp.response(201, RuleSchema)
def add_rule(data: dict[str, Any]) -> RuleView:
    """Admin: a routing rule; empty conditions match anything."""
    return services().desk_setup.add_rule(Rule(**data))


@blp.delete("/routing-rules/<int(max=2147483647):rule_id>")
@roles(Role.ADMIN)
@blp.response(204)
def delete_rule(rule_id: int) -> None:
    """Admin: remove a routing rule."""
    services().desk_setup.delete_rule(rule_id)
