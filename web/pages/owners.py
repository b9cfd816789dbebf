"""The desk's owners on the pages: take or hand over a case, internal notes, a canned reply
filled for the case, the owner column and "mine" filter on the queue, and the shifts page.

The RMA page and the queue (web/pages/desk.py) draw on ``case_panel`` and ``queue_owners``,
offered to every template, so the desk's own module stays as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from accounts.models import Role
from core.errors import DomainError
from returns.ownership import NoteView, OwnerView
from returns.shifts import WEEKDAYS
from web.extensions import services
from web.pages.access import roles_required
from web.pages.desk import ReplyForm

bp = Blueprint("owners_pages", __name__)

DESK = (Role.SERVICE_DESK, Role.ADMIN)


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Internal note (never sent to the customer)"),
        validators=[DataRequired(), Length(max=5000)],
    )


class HandOverForm(FlaskForm):
    target = SelectField(_l("Hand over to"), choices=[], validate_choice=False)


@dataclass(frozen=True)
class CasePanel:
    owner: OwnerView
    notes: list[NoteView]
    canned: list[tuple[int, str, str]]
    note_form: NoteForm
    hand_over_form: HandOverForm
    take_form: FlaskForm
    mine: bool


@dataclass(frozen=True)
class QueueOwner:
    label: str
    mine: bool
    out_of_hours: bool


def case_panel(number: str) -> CasePanel:
    """What the RMA page shows of the case's owner, notes and canned replies."""
    view = services().ownership.panel(number)
    form = HandOverForm()
    form.target.choices = [
        SelectChoice("", ""),
        *(SelectChoice(f"user:{uid}", name) for uid, name in view.people),
        *(SelectChoice(f"team:{tid}", _("Team %(name)s", name=name)) for tid, name in view.teams),
    ]
    return CasePanel(
        owner=view.owner,
        notes=view.notes,
        canned=[(r.id, r.title, r.language) for r in view.canned],
        note_form=NoteForm(),
        hand_over_form=form,
        take_form=FlaskForm(),
        mine=view.owner.owner_user_id == getattr(current_user, "id", None),
    )


def queue_owners(rows: list[Any]) -> dict[int, QueueOwner]:
    """The owner of each queue row by RMA id (one query for the page, however often the page
    renders its table: once shown, once for its live version)."""
    ids = tuple(row.id for row in rows)
    cached = g.get("queue_owners")
    if cached is not None and cached[0] == ids:
        return cached[1]  # type: ignore[no-any-return]
    me = getattr(current_user, "id", None)
    owners = {}
    for rma_id, owner in services().ownership.owners_of(list(ids)).items():
        if owner.owner_name is not None:
            label = owner.owner_name
        elif owner.owner_team is not None:
            label = _("%(team)s queue", team=owner.owner_team)
        else:
            label = ""
        owners[rma_id] = QueueOwner(label, owner.owner_user_id == me, owner.out_of_hours)
    g.queue_owners = (ids, owners)
    return owners


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(case_panel=case_panel, queue_owners=queue_owners)


def _back(number: str) -> ResponseReturnValue:
    return redirect(url_for("desk.detail", number=number) + "#owner")


def _run(number: str, action: Any, done: str) -> ResponseReturnValue:
    try:
        action()
        flash(done, "success")
    except DomainError as error:
        flash(str(error), "error")
    return _back(number)


@bp.post("/desk/cases/<number>/take")
@roles_required(*DESK)
def take(number: str) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back(number)
    return _run(
        number,
        lambda: services().ownership.take(current_user.id, number),
        _("You own %(number)s.", number=number),
    )


@bp.post("/desk/cases/<number>/hand-over")
@roles_required(*DESK)
def hand_over(number: str) -> ResponseReturnValue:
    form = HandOverForm()
    kind, _sep, value = (form.target.data or "").partition(":")
    if not form.validate_on_submit() or kind not in ("user", "team") or not value.isdigit():
        flash(_("Choose a person or a team."), "error")
        return _back(number)
    target = {"user_id" if kind == "user" else "team_id": int(value)}
    return _run(
        number,
        lambda: services().ownership.hand_over(current_user.email, number, **target),
        _("%(number)s handed over.", number=number),
    )


@bp.post("/desk/cases/<number>/notes")
@roles_required(*DESK)
def add_note(number: str) -> ResponseReturnValue:
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write the note (up to 5,000 characters)."), "error")
        return _back(number)
    return _run(
        number,
        lambda: services().ownership.add_note(current_user.email, number, form.text.data or ""),
        _("Note added."),
    )


@bp.get("/desk/cases/<number>/canned/<int:reply_id>")
@roles_required(*DESK)
def canned_reply(number: str, reply_id: int) -> ResponseReturnValue:
    """The reply form, filled with the canned reply and this case's details, to edit and send."""
    text = services().ownership.filled_reply(number, reply_id)
    form = ReplyForm(formdata=None, message=text)
    return render_template("desk_canned_reply.html", number=number, form=form)


@bp.get("/desk/shifts")
@roles_required(*DESK)
def shifts() -> ResponseReturnValue:
    """Each person's hours and days off, who is on now, and the hours nobody covers."""
    page = services().desk_setup.shifts()
    return render_template(
        "desk_shifts.html",
        page=page,
        weekdays=WEEKDAYS,
        hours=range(24),
        covered={(d, h): names for d, h, names in page.grid},
    )
