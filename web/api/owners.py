"""A case's owner (take, hand over), its internal notes and canned replies filled for it.
The rules are returns/ownership.py's; the desk's set-up (teams, shifts, rules) is
web/api/desk_setup.py."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from accounts.models import Role
from returns.ownership import CannedReplyView, NoteView, OwnerView
from web.api.auth import current_api_user, roles
from web.api.fields import Text
from web.api.schemas import EmptySchema, StrictSchema
from web.extensions import services

blp = Blueprint(
    "owners",
    __name__,
    url_prefix="/api/v1/returns",
    description="A case's owner, internal notes and canned replies",
)
canned_blp = Blueprint(
    "canned_replies",
    __name__,
    url_prefix="/api/v1/canned-replies",
    description="Canned replies per language (admins manage them)",
)

DESK = (Role.ADMIN, Role.SERVICE_DESK)
LANGUAGES = ("en", "zh_Hans")
ID = {"validate": validate.Range(min=1, max=2**31 - 1)}


class OwnerSchema(Schema):
    rma_number = fields.String(attribute="number", metadata={"example": "RMA-20261123-0042"})
    owner_user_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    owner_team_id = fields.Integer(allow_none=True)
    owner_team = fields.String(allow_none=True)
    out_of_hours = fields.Boolean(
        metadata={"description": "In a team's queue: nobody of the team is on shift"}
    )


class HandOverSchema(StrictSchema):
    user_id = fields.Integer(load_default=None, **ID)
    team_id = fields.Integer(load_default=None, **ID)

    @validates_schema
    def _one_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("user_id") is None) == (data.get("team_id") is None):
            raise ValidationError("Give a user_id or a team_id (one of them).", "user_id")


class NoteSchema(Schema):
    id = fields.Integer()
    rma_number = fields.String(attribute="number")
    author = fields.String()
    text = fields.String()
    created_at = fields.AwareDateTime()


class NewNoteSchema(StrictSchema):
    text = Text(5000, min_length=1, required=True)


class CannedReplySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    language = fields.String()
    body = fields.String(
        metadata={"description": "{number}, {customer_name}, {status}, {owner} are filled in"}
    )
    updated_by = fields.String()
    updated_at = fields.AwareDateTime()


class CannedReplyInputSchema(StrictSchema):
    title = Text(100, min_length=1, required=True)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    body = Text(5000, min_length=1, required=True)


class LanguageQuerySchema(StrictSchema):
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


class FilledReplySchema(Schema):
    text = fields.String()


def _actor() -> str:
    return current_api_user().email


@blp.get("/<rma>/owner")
@roles(*DESK)
@blp.response(200, OwnerSchema)
def owner(rma: str) -> OwnerView:
    """Who owns the case: a person, or a team's queue while nobody of it is on shift."""
    return services().ownership.owner(rma)


@blp.post("/<rma>/take")
@roles(*DESK)
@blp.arguments(EmptySchema)
@blp.response(200, OwnerSchema)
def take(_nothing: dict[str, Any], rma: str) -> OwnerView:
    """The caller owns the open case from now on (a line on the timeline)."""
    return services().ownership.take(current_api_user().id, rma)


@blp.post("/<rma>/hand-over")
@roles(*DESK)
@blp.arguments(HandOverSchema)
@blp.response(200, OwnerSchema)
def hand_over(data: dict[str, Any], rma: str) -> OwnerView:
    """To a person (`user_id`), or to a team (`team_id`): its next member on shift, or its
    out-of-hours queue when nobody of it is on."""
    return services().ownership.hand_over(_actor(), rma, **data)


@blp.get("/<rma>/notes")
@roles(*DESK)
@blp.response(200, NoteSchema(many=True))
def notes(rma: str) -> list[NoteView]:
    """The case's internal notes, oldest first (never shown or sent to the customer)."""
    return services().ownership.notes(rma)


@blp.post("/<rma>/notes")
@roles(*DESK)
@blp.arguments(NewNoteSchema)
@blp.response(201, NoteSchema)
def add_note(data: dict[str, Any], rma: str) -> NoteView:
    """An internal note for the desk: never sent, never on the customer's status page."""
    return services().ownership.add_note(_actor(), rma, data["text"])


@blp.get("/<rma>/canned-replies/<int(max=2147483647):reply_id>")
@roles(*DESK)
@blp.response(200, FilledReplySchema)
def filled_reply(rma: str, reply_id: int) -> dict[str, str]:
    """The canned reply filled with this case's details, ready to edit and send."""
    return {"text": services().ownership.filled_reply(rma, reply_id)}


@canned_blp.get("")
@roles(*DESK)
@canned_blp.arguments(LanguageQuerySchema, location="query", as_kwargs=True)
@canned_blp.response(200, CannedReplySchema(many=True))
def canned_replies(language: str | None) -> list[CannedReplyView]:
    """Every canned reply, or those in one `language`."""
    return services().ownership.canned_replies(language)


@canned_blp.post("")
@roles(Role.ADMIN)
@canned_blp.arguments(CannedReplyInputSchema)
@canned_blp.response(201, CannedReplySchema)
def create_canned_reply(data: dict[str, Any]) -> CannedReplyView:
    """Admin: a new canned reply (one title per language)."""
    return services().ownership.save_canned_reply(_actor(), **data)


@canned_blp.put("/<int(max=2147483647):reply_id>")
@roles(Role.ADMIN)
@canned_blp.arguments(CannedReplyInputSchema)
@canned_blp.response(200, CannedReplySchema)
def update_canned_reply(data: dict[str, Any], reply_id: int) -> CannedReplyView:
    """Admin: change a canned reply."""
    return services().ownership.save_canned_reply(_actor(), **data, reply_id=reply_id)


@canned_blp.delete("/<int(max=2147483647):reply_id>")
@roles(Role.ADMIN)
@canned_blp.response(204)
def delete_canned_reply(reply_id: int) -> None:
    """Admin: remove a canned reply."""
    services().ownership.delete_canned_reply(reply_id)
