"""Admin > Desk: teams and members, each person's hours and days off, routing rules and canned
replies. Each form calls one use case (returns/desk_setup.py, returns/ownership.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from accounts.models import Role
from core.errors import DomainError
from returns.desk_setup import Rule
from returns.shifts import WEEKDAYS, Hours
from returns.status import Channel
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("desk_admin", __name__, url_prefix="/admin/desk")

LANGUAGES = [("en", "English"), ("zh_Hans", "简体中文")]
ANY: list[tuple[Any, Any]] = [("", "")]


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class TeamForm(FlaskForm):
    name = StringField(_l("Team"), validators=[DataRequired(), Length(max=100)])
    members = SelectMultipleField(_l("Members"), coerce=int, validate_choice=False)


class HoursForm(FlaskForm):
    person = SelectField(_l("Person"), coerce=int, validate_choice=False)
    weekdays = SelectMultipleField(
        _l("Days"), coerce=int, choices=choices(enumerate(WEEKDAYS)), validators=[DataRequired()]
    )
    start = TimeField(_l("From"), validators=[InputRequired()])
    end = TimeField(_l("To"), validators=[InputRequired()])
    time_zone = StringField(_l("Time zone"), default="UTC", validators=[Length(max=64)])


class DaysOffForm(FlaskForm):
    person = SelectField(_l("Person"), coerce=int, validate_choice=False)
    starts_on = DateField(_l("From"), validators=[InputRequired()])
    ends_on = DateField(_l("To (included)"), validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[Length(max=200)])


class RuleForm(FlaskForm):
    position = IntegerField(_l("Order"), default=10, validators=[NumberRange(0, 10000)])
    channel = SelectField(
        _l("Channel"), choices=choices(ANY + [(c.value, c.value) for c in Channel])
    )
    kind = SelectField(
        _l("Kind"), choices=choices(ANY + [(k, k) for k in ("return", "enquiry", "complaint")])
    )
    language = SelectField(_l("Language"), choices=choices(ANY + LANGUAGES))
    vip = SelectField(_l("VIP"), choices=choices([*ANY, ("yes", _l("VIP")), ("no", _l("not VIP"))]))
    part_category = StringField(_l("Part category"), validators=[Optional(), Length(max=100)])
    person = SelectField(_l("Person"), validate_choice=False)
    team = SelectField(_l("Team"), validate_choice=False)


class CannedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)])
    language = SelectField(_l("Language"), choices=choices(LANGUAGES))
    body = TextAreaField(
        _l("Text ({number}, {customer_name}, {status}, {owner} are filled in)"),
        validators=[DataRequired(), Length(max=5000)],
    )


def _forms() -> dict[str, Any]:
    people = services().desk_setup.desk_people()
    teams = services().desk_setup.teams()
    forms: dict[str, Any] = {
        "team": TeamForm(prefix="team"),
        "hours": HoursForm(prefix="hours"),
        "days_off": DaysOffForm(prefix="off"),
        "rule": RuleForm(prefix="rule"),
        "canned": CannedForm(prefix="canned"),
        "delete": FlaskForm(prefix="delete"),
    }
    forms["team"].members.choices = choices(people)
    forms["hours"].person.choices = choices(people)
    forms["days_off"].person.choices = choices(people)
    forms["rule"].person.choices = choices(ANY + [(str(uid), name) for uid, name in people])
    forms["rule"].team.choices = choices(ANY + [(str(t.id), t.name) for t in teams])
    return forms


@bp.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    setup = services().desk_setup
    return render_template(
        "admin_desk.html",
        forms=_forms(),
        teams=setup.teams(),
        rules=setup.rules(),
        people=dict(setup.desk_people()),
        team_names={t.id: t.name for t in setup.teams()},
        canned=services().ownership.canned_replies(),
    )


def _submit(form: FlaskForm, action: Callable[[], Any], done: str) -> ResponseReturnValue:
    if not form.validate_on_submit():
        errors = "; ".join(f"{name}: {', '.join(e)}" for name, e in form.errors.items())
        flash(_("Check the form: %(errors)s", errors=errors), "error")
    else:
        try:
            action()
            flash(done, "success")
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("desk_admin.index"))


@bp.post("/teams")
@roles_required(Role.ADMIN)
def save_team() -> ResponseReturnValue:
    form = _forms()["team"]
    return _submit(
        form,
        lambda: services().desk_setup.save_team(form.name.data, form.members.data or []),
        _("Team saved."),
    )


@bp.post("/hours")
@roles_required(Role.ADMIN)
def set_hours() -> ResponseReturnValue:
    form = _forms()["hours"]

    def action() -> None:
        start = form.start.data.hour * 60 + form.start.data.minute
        end = form.end.data.hour * 60 + form.end.data.minute or 1440
        zone = (form.time_zone.data or "UTC").strip()
        hours = [Hours(day, start, end, zone) for day in form.weekdays.data]
        services().desk_setup.set_hours(form.person.data, hours)

    return _submit(form, action, _("Working hours saved."))


@bp.post("/days-off")
@roles_required(Role.ADMIN)
def add_days_off() -> ResponseReturnValue:
    form = _forms()["days_off"]
    return _submit(
        form,
        lambda: services().desk_setup.add_days_off(
            form.person.data, form.starts_on.data, form.ends_on.data, form.reason.data or ""
        ),
        _("Days off saved."),
    )


@bp.post("/rules")
@roles_required(Role.ADMIN)
def add_rule() -> ResponseReturnValue:
    form = _forms()["rule"]

    def action() -> None:
        services().desk_setup.add_rule(
            Rule(
                position=form.position.data or 0,
                channel=form.channel.data or None,
                kind=form.kind.data or None,
                language=form.language.data or None,
                vip={"yes": True, "no": False}.get(form.vip.data or ""),
                part_category=(form.part_category.data or "").strip() or None,
                user_id=int(form.person.data) if form.person.data else None,
                team_id=int(form.team.data) if form.team.data else None,
            )
        )

    return _submit(form, action, _("Routing rule added."))


@bp.post("/rules/<int:rule_id>/delete")
@roles_required(Role.ADMIN)
def delete_rule(rule_id: int) -> ResponseReturnValue:
    return _submit(
        _forms()["delete"],
        lambda: services().desk_setup.delete_rule(rule_id),
        _("Routing rule removed."),
    )


@bp.post("/canned")
@roles_required(Role.ADMIN)
def save_canned() -> ResponseReturnValue:
    form = _forms()["canned"]
    return _submit(
        form,
        lambda: services().ownership.save_canned_reply(
            current_user.email, form.title.data, form.language.data, form.body.data
        ),
        _("Canned reply saved."),
    )


@bp.post("/canned/<int:reply_id>/delete")
@roles_required(Role.ADMIN)
def delete_canned(reply_id: int) -> ResponseReturnValue:
    return _submit(
        _forms()["delete"],
        lambda: services().ownership.delete_canned_reply(reply_id),
        _("Canned reply removed."),
    )
