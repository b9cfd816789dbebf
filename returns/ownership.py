"""The desk's use cases on a case's owner, its internal notes and canned replies.

- ``take``: the signed-in person owns the case from now on;
- ``hand_over``: to a person, or to a team (its next member on shift, else its queue);
- both write an ``owner`` line on the timeline (never a first response: rma.NOT_A_RESPONSE);
- internal notes are rows of their own (``case_notes``), never on the timeline, the status
  page or an e-mail;
- canned replies are filled with the case's details for the reply form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from accounts.models import Role, User
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, NotFound
from returns.context import load_rma
from returns.errors import RmaNotFound
from returns.owner_models import CannedReply, CaseNote, Team, TeamMember
from returns.rma import Rma
from returns.routing import next_in_team
from returns.status import OPEN

#: Who may own a case.
OWNER_ROLES = (Role.SERVICE_DESK, Role.ADMIN)
MAX_NOTE = 5000
#: What a canned reply may use.
PLACEHOLDERS = ("number", "customer_name", "status", "owner")


@dataclass(frozen=True)
class OwnerView:
    number: str
    owner_user_id: int | None
    owner_name: str | None
    owner_team_id: int | None
    owner_team: str | None
    #: Waiting in a team's queue (nobody of it on shift).
    out_of_hours: bool


@dataclass(frozen=True)
class NoteView:
    id: int
    number: str
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CannedReplyView:
    id: int
    title: str
    language: str
    body: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class CasePanelView:
    """What the case page shows of ownership: the owner, the internal notes, the canned
    replies, and whom it may be handed to (people and teams, id and name)."""

    owner: OwnerView
    notes: list[NoteView]
    canned: list[CannedReplyView]
    people: list[tuple[int, str]]
    teams: list[tuple[int, str]]


class _Details(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown placeholder stays as written


def fill(body: str, details: Mapping[str, str]) -> str:
    """The canned reply with the case's details in place of ``{number}``, ``{customer_name}``..."""
    return body.format_map(_Details(details))


def person_label(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return (user.name or user.email) if user else None


def team_label(session: Session, team_id: int | None) -> str | None:
    team = session.get(Team, team_id) if team_id is not None else None
    return team.name if team else None


def owner_view(session: Session, rma: Rma) -> OwnerView:
    return OwnerView(
        number=rma.number,
        owner_user_id=rma.owner_user_id,
        owner_name=person_label(session, rma.owner_user_id),
        owner_team_id=rma.owner_team_id,
        owner_team=team_label(session, rma.owner_team_id),
        out_of_hours=rma.owner_user_id is None and rma.owner_team_id is not None,
    )


class Ownership:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    # --- owners --------------------------------------------------------------------------

    def owner(self, number: str) -> OwnerView:
        with UnitOfWork(self.session_factory) as uow:
            return owner_view(uow.session, load_rma(uow.session, number))

    def take(self, actor_id: int, number: str) -> OwnerView:
        """The signed-in person owns the case (in their team, if it is routed through one)."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = self._open_case(session, number)
            person = self._person(session, actor_id, "user_id")
            rma.owner_team_id = self._team_of(session, person.id, rma.owner_team_id)
            rma.owner_user_id = person.id
            rma.note(
                "owner",
                person.email,
                N_("Taken by %(who)s", who=person.name or person.email),
                self._now(),
            )
            uow.commit()
            return owner_view(session, rma)

    def hand_over(
        self, actor: str, number: str, *, user_id: int | None = None, team_id: int | None = None
    ) -> OwnerView:
        """To a person (exactly one of ``user_id``, ``team_id``), or to a team: its next member
        on shift (round-robin), else the team's out-of-hours queue."""
        if (user_id is None) == (team_id is None):
            raise InvalidInput("user_id", N_("Hand the case to one person or one team."))
        with UnitOfWork(self.session_factory) as uow:
            session, now = uow.session, self._now()
            rma = self._open_case(session, number)
            if user_id is not None:
                person = self._person(session, user_id, "user_id")
                rma.owner_team_id = self._team_of(session, person.id, rma.owner_team_id)
                rma.owner_user_id = person.id
                text = N_("Handed over to %(who)s", who=person.name or person.email)
            else:
                assert team_id is not None
                if session.get(Team, team_id) is None:
                    raise InvalidInput(
                        "team_id", N_("No team %(id)s.", id=team_id), code="unknown_team"
                    )
                owner = next_in_team(session, team_id, now)
                rma.owner_user_id, rma.owner_team_id = owner.user_id, owner.team_id
                team = team_label(session, team_id)
                text = (
                    N_(
                        "Handed over to team %(team)s (%(who)s)",
                        team=team,
                        who=person_label(session, owner.user_id),
                    )
                    if owner.user_id is not None
                    else N_(
                        "Handed over to team %(team)s (nobody on shift: in the team's queue)",
                        team=team,
                    )
                )
            rma.note("owner", actor, text, now)
            uow.commit()
            return owner_view(session, rma)

    def owners_of(self, rma_ids: list[int]) -> dict[int, OwnerView]:
        """The owners of many cases by RMA id, in one query (the desk queue's column)."""
        if not rma_ids:
            return {}
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(_owner_query().where(Rma.id.in_(rma_ids))).all()
            return {row.id: _owner_of(row) for row in rows}

    def panel(self, number: str) -> CasePanelView:
        """The case page's owner panel, in one read (five queries)."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            row = session.execute(
                _owner_query().where(Rma.number == number.strip().upper())
            ).first()
            if row is None:
                raise RmaNotFound(number)
            owner = _owner_of(row)
            notes = [
                NoteView(n.id, row.number, n.author, n.text, n.created_at)
                for n in session.scalars(
                    select(CaseNote).where(CaseNote.rma_id == row.id).order_by(CaseNote.id)
                )
            ]
            canned = [
                _canned_view(c)
                for c in session.scalars(
                    select(CannedReply).order_by(CannedReply.language, CannedReply.title)
                )
            ]
            people = [
                (p.id, p.name or p.email)
                for p in session.execute(
                    select(User.id, User.name, User.email)
                    .where(User.role.in_(OWNER_ROLES), User.active.is_(True))
                    .order_by(User.name, User.email)
                )
            ]
            teams = [(t.id, t.name) for t in session.execute(select(Team.id, Team.name))]
            return CasePanelView(owner, notes, canned, people, teams)

    # --- internal notes ------------------------------------------------------------------

    def add_note(self, actor: str, number: str, text: str) -> NoteView:
        body = text.strip()
        if not body:
            raise InvalidInput("text", N_("Write the note."))
        if len(body) > MAX_NOTE:
            raise InvalidInput("text", N_("Keep the note under 5,000 characters."))
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            note = CaseNote(rma_id=rma.id, author=actor, text=body, created_at=self._now())
            uow.session.add(note)
            uow.session.flush()
            view = NoteView(note.id, rma.number, note.author, note.text, note.created_at)
            uow.commit()
            return view

    def notes(self, number: str) -> list[NoteView]:
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            rows = uow.session.scalars(
                select(CaseNote).where(CaseNote.rma_id == rma.id).order_by(CaseNote.id)
            )
            return [NoteView(n.id, rma.number, n.author, n.text, n.created_at) for n in rows]

    # --- canned replies ------------------------------------------------------------------

    def canned_replies(self, language: str | None = None) -> list[CannedReplyView]:
        with UnitOfWork(self.session_factory) as uow:
            query = select(CannedReply).order_by(CannedReply.language, CannedReply.title)
            if language:
                query = query.where(CannedReply.language == language)
            return [_canned_view(row) for row in uow.session.scalars(query)]

    def save_canned_reply(
        self, actor: str, title: str, language: str, body: str, reply_id: int | None = None
    ) -> CannedReplyView:
        """Create (no ``reply_id``) or change a canned reply; one title per language."""
        if not title.strip() or not body.strip():
            raise InvalidInput("body" if title.strip() else "title", N_("Give a title and a text."))
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            same = session.scalars(
                select(CannedReply).where(
                    CannedReply.title == title.strip(), CannedReply.language == language
                )
            ).first()
            if same is not None and same.id != reply_id:
                raise Conflict(
                    N_(
                        "A canned reply %(title)s in %(language)s exists.",
                        title=repr(title),
                        language=language,
                    ),
                    code="duplicate_title",
                )
            row = self._canned(session, reply_id) if reply_id else CannedReply()
            row.title, row.language, row.body = title.strip(), language, body.strip()
            row.updated_by, row.updated_at = actor, self._now()
            session.add(row)
            session.flush()
            view = _canned_view(row)
            uow.commit()
            return view

    def delete_canned_reply(self, reply_id: int) -> None:
        with UnitOfWork(self.session_factory) as uow:
            uow.session.delete(self._canned(uow.session, reply_id))
            uow.commit()

    def filled_reply(self, number: str, reply_id: int) -> str:
        """The canned reply with this case's details, for the reply form."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number)
            row = self._canned(session, reply_id)
            return fill(
                row.body,
                {
                    "number": rma.number,
                    "customer_name": rma.customer_name,
                    "status": rma.status.value.replace("_", " "),
                    "owner": person_label(session, rma.owner_user_id) or "",
                },
            )

    # --- helpers -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    @staticmethod
    def _open_case(session: Session, number: str) -> Rma:
        rma = load_rma(session, number, lock=True)
        if rma.status not in OPEN:
            raise Conflict(
                N_(
                    "%(number)s is %(status)s: it needs no owner.",
                    number=rma.number,
                    status=rma.status.value,
                ),
                code="ended",
            )
        return rma

    @staticmethod
    def _person(session: Session, user_id: int, field: str) -> User:
        user = session.get(User, user_id)
        if user is None or not user.active or user.role not in OWNER_ROLES:
            raise InvalidInput(
                field, N_("No active desk member %(id)s.", id=user_id), code="unknown_person"
            )
        return user

    @staticmethod
    def _team_of(session: Session, user_id: int, current: int | None) -> int | None:
        """``current`` when the person is in it, else the person's first team (or none)."""
        teams = list(
            session.scalars(
                select(TeamMember.team_id)
                .where(TeamMember.user_id == user_id)
                .order_by(TeamMember.team_id)
            )
        )
        if current in teams:
            return current
        return teams[0] if teams else None

    @staticmethod
    def _canned(session: Session, reply_id: int) -> CannedReply:
        row = session.get(CannedReply, reply_id)
        if row is None:
            raise NotFound(
                N_("No canned reply %(id)s.", id=reply_id), code="canned_reply_not_found"
            )
        return row


def _owner_query() -> Select[int, str, int | None, int | None, str, str, str]:
    return (
        select(
            Rma.id,
            Rma.number,
            Rma.owner_user_id,
            Rma.owner_team_id,
            User.name,
            User.email,
            Team.name.label("team"),
        )
        .outerjoin(User, User.id == Rma.owner_user_id)
        .outerjoin(Team, Team.id == Rma.owner_team_id)
    )


def _owner_of(row: Any) -> OwnerView:
    return OwnerView(
        number=row.number,
        owner_user_id=row.owner_user_id,
        owner_name=(row.name or row.email) if row.owner_user_id else None,
        owner_team_id=row.owner_team_id,
        owner_team=row.team,
        out_of_hours=row.owner_user_id is None and row.owner_team_id is not None,
    )


def _canned_view(row: CannedReply) -> CannedReplyView:
    return CannedReplyView(
        row.id, row.title, row.language, row.body, row.updated_by, row.updated_at
    )
