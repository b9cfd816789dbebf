"""Who owns the desk's cases: teams and their members, each person's shifts and absences,
the routing rules that give a new case its owner, internal notes and canned replies.

The rules that read these rows live in returns/shifts.py (who is on shift), returns/routing.py
(which owner a new case gets) and returns/ownership.py (take, hand over, notes, replies)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Team(Base):
    """A desk team. ``last_user_id`` is the round-robin cursor: the member who got the team's
    last case; the next goes to the next member on shift (the row is locked meanwhile)."""

    __tablename__ = "desk_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TeamMember(Base):
    __tablename__ = "desk_team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("desk_teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class Shift(Base):
    """One person's working hours on one weekday (0 Monday ... 6 Sunday), as minutes from
    midnight in ``time_zone`` (an IANA name). ``end_minute`` at or before ``start_minute`` is
    a night shift that ends the next day."""

    __tablename__ = "desk_shifts"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "start_minute BETWEEN 0 AND 1439 AND end_minute BETWEEN 0 AND 1440", name="minutes"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")


class Absence(Base):
    """Days off: from ``starts_on`` to ``ends_on`` inclusive, in the person's own dates."""

    __tablename__ = "desk_absences"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class RoutingRule(Base):
    """Matched in ``position`` order against a new case; a null condition matches anything.
    The first rule that matches names a person (while on shift) and/or a team."""

    __tablename__ = "desk_routing_rules"
    __table_args__ = (CheckConstraint("user_id IS NOT NULL OR team_id IS NOT NULL", name="target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(10))
    vip: Mapped[bool | None] = mapped_column(Boolean)
    part_category: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("desk_teams.id"))


class CaseNote(Base):
    """An internal note on a case: for the desk only, never sent or shown to the customer
    (kept apart from the timeline, which the customer's messages draw on)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CannedReply(Base):
    """A reply the desk starts from, per language; ``{number}``, ``{customer_name}``,
    ``{status}``, ``{owner}`` are filled with the case's details."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("title", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(10), default="en")
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
