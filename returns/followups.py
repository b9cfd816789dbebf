"""Follow-up calls after a case closes: when each is due, the calls made, the reminders.

Closing a case (a return, an enquiry or a complaint) schedules its follow-up: due after a delay
per kind and priority (``SPAREFLOW_FOLLOWUP_DAYS``, docs/configuration.md). The desk works the
queue of calls to make and records each call's outcome, the customer's satisfaction (1-5) and
notes. A call that did not reach anyone (no answer, voicemail) leaves the follow-up due again
``FOLLOWUP_RETRY_HOURS`` later; any other outcome completes it. A VIP customer reached is
followed up once more ``FOLLOWUP_VIP_REPEAT_DAYS`` later. An overdue follow-up raises one
reminder for the desk (the ``remind_overdue_followups`` job), however often the job runs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, BigIntPK, UTCDateTime, string_enum
from core.errors import N_, InvalidInput
from core.errors import Text as Message
from returns.rma import Rma
from returns.status import CaseKind, Priority


class FollowUpOutcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"  # a message was left: try again
    WRONG_NUMBER = "wrong_number"
    DECLINED = "declined"  # reached, but the customer would not talk
    #: The customer answered the follow-up question on the status page or through the API.
    ANSWERED_ONLINE = "answered_online"


#: Outcomes after which the call is tried again (the follow-up stays due).
TRY_AGAIN = frozenset({FollowUpOutcome.NO_ANSWER, FollowUpOutcome.VOICEMAIL})


class FollowUpStatus(enum.StrEnum):
    DUE = "due"
    DONE = "done"
    CANCELLED = "cancelled"  # the case was reopened


class FollowUp(Base):
    """One follow-up of a closed case: round 1 after closing, round 2 a VIP's repeat."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[FollowUpStatus] = mapped_column(string_enum(FollowUpStatus), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The last call's outcome, score and notes (every call is also on the case's timeline).
    outcome: Mapped[FollowUpOutcome | None] = mapped_column(string_enum(FollowUpOutcome))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    called_by: Mapped[str | None] = mapped_column(String(254))
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The overdue reminder goes once per follow-up.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"
        ),
    )


#: Days after closing, per kind and priority, unless ``FOLLOWUP_DAYS`` says otherwise (a
#: return's default is ``RETURNS_FOLLOWUP_DAYS`` for every priority).
DEFAULT_DAYS: dict[str, dict[str, float]] = {
    "enquiry": {"urgent": 1, "high": 2, "medium": 3, "low": 7},
    "complaint": {"urgent": 1, "high": 1, "medium": 2, "low": 3},
}


@dataclass(frozen=True)
class FollowUpSettings:
    """When follow-ups are due (``FOLLOWUP_DAYS``, ``FOLLOWUP_VIP_REPEAT_DAYS``,
    ``FOLLOWUP_RETRY_HOURS``)."""

    days: Mapping[tuple[CaseKind, Priority], float] = field(
        default_factory=lambda: FollowUpSettings.table({}, 3)
    )
    #: A VIP customer reached is called again this many days later; 0: never.
    vip_repeat_days: float = 30
    #: A call nobody answered is due again this many hours later.
    retry_hours: float = 24

    @staticmethod
    def table(raw: Mapping[str, Any], return_days: float) -> dict[tuple[CaseKind, Priority], float]:
        defaults = {"return": {p.value: return_days for p in Priority}, **DEFAULT_DAYS}
        unknown = set(raw) - {k.value for k in CaseKind}
        if unknown:
            raise ValueError(f"FOLLOWUP_DAYS names no such kind: {', '.join(sorted(unknown))}")
        days: dict[tuple[CaseKind, Priority], float] = {}
        for kind in CaseKind:
            given = {str(k).lower(): v for k, v in dict(raw.get(kind.value) or {}).items()}
            if set(given) - {p.value for p in Priority}:
                raise ValueError(f"FOLLOWUP_DAYS.{kind.value} names no such priority: {given}")
            for priority in Priority:
                value = float(given.get(priority.value, defaults[kind.value][priority.value]))
                if value < 0:
                    raise ValueError("FOLLOWUP_DAYS cannot be negative")
                days[kind, priority] = value
        return days

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], return_days: float) -> FollowUpSettings:
        return cls(
            days=cls.table(settings.get("FOLLOWUP_DAYS") or {}, return_days),
            vip_repeat_days=float(settings.get("FOLLOWUP_VIP_REPEAT_DAYS", 30)),
            retry_hours=float(settings.get("FOLLOWUP_RETRY_HOURS", 24)),
        )

    def due_after(self, kind: CaseKind, priority: Priority) -> timedelta:
        return timedelta(days=self.days[kind, priority])


@dataclass(frozen=True)
class RecordCall:
    outcome: FollowUpOutcome
    satisfaction: int | None = None
    notes: str = ""


def schedule(session: Session, rma: Rma, due_at: datetime, now: datetime, round_: int = 1) -> None:
    """A follow-up of ``rma`` due at ``due_at`` (the case's ``followup_due_at`` follows it)."""
    session.add(
        FollowUp(
            rma_id=rma.id,
            round=round_,
            status=FollowUpStatus.DUE,
            due_at=due_at,
            attempts=0,
            notes="",
            created_at=now,
        )
    )
    rma.followup_due_at = due_at


def cancel_due(session: Session, rma: Rma) -> None:
    """The case was reopened: its follow-ups still due are off."""
    for followup in session.scalars(
        select(FollowUp).where(FollowUp.rma_id == rma.id, FollowUp.status == FollowUpStatus.DUE)
    ):
        followup.status = FollowUpStatus.CANCELLED
    rma.followup_due_at = None


def record_call(
    session: Session,
    followup: FollowUp,
    rma: Rma,
    actor: str,
    call: RecordCall,
    now: datetime,
    settings: FollowUpSettings,
) -> None:
    """Record one call: try again later, or done (a VIP reached is followed up once more)."""
    if followup.status is not FollowUpStatus.DUE:
        raise InvalidInput("followup", N_("This follow-up is already done."), code="followup_done")
    reached = call.outcome in (FollowUpOutcome.REACHED, FollowUpOutcome.ANSWERED_ONLINE)
    if reached and call.satisfaction is None:
        raise InvalidInput("satisfaction", N_("Give the customer's satisfaction score (1-5)."))
    if call.satisfaction is not None and not reached:
        raise InvalidInput("satisfaction", N_("Only a customer reached gives a score."))
    if call.satisfaction is not None and not 1 <= call.satisfaction <= 5:
        raise InvalidInput("satisfaction", N_("The score is 1 to 5."))
    followup.attempts += 1
    followup.outcome, followup.satisfaction = call.outcome, call.satisfaction
    followup.notes, followup.called_by, followup.called_at = call.notes.strip(), actor, now
    if call.satisfaction is not None and (followup.round == 1 or rma.satisfaction is None):
        rma.satisfaction = call.satisfaction
        rma.satisfaction_comment = call.notes.strip() or None
    rma.note("followup", actor, _call_text(followup.round, call), now)
    if call.outcome in TRY_AGAIN:
        followup.due_at = now + timedelta(hours=settings.retry_hours)
        rma.followup_due_at = followup.due_at
        return
    followup.status = FollowUpStatus.DONE
    rma.followup_due_at = None
    if rma.vip and reached and followup.round == 1 and settings.vip_repeat_days > 0:
        schedule(session, rma, now + timedelta(days=settings.vip_repeat_days), now, round_=2)


def answered_online(session: Session, rma: Rma, satisfaction: int, comment: str) -> None:
    """The customer answered the follow-up question themselves: no call is needed now."""
    for followup in session.scalars(
        select(FollowUp).where(FollowUp.rma_id == rma.id, FollowUp.status == FollowUpStatus.DUE)
    ):
        followup.status, followup.outcome = FollowUpStatus.DONE, FollowUpOutcome.ANSWERED_ONLINE
        followup.satisfaction, followup.notes = satisfaction, comment.strip()


def _call_text(round_: int, call: RecordCall) -> Message:
    """The timeline's line for a call: its outcome (a label), the score and the notes typed."""
    said = {"round": round_, "outcome": call.outcome.value.replace("_", " ")}
    notes, score = call.notes.strip(), call.satisfaction
    if score is not None and notes:
        return N_(
            "Follow-up call %(round)s: %(outcome)s, satisfaction %(score)s/5: %(notes)s",
            **said,
            score=score,
            notes=notes,
        )
    if score is not None:
        return N_(
            "Follow-up call %(round)s: %(outcome)s, satisfaction %(score)s/5", **said, score=score
        )
    if notes:
        return N_("Follow-up call %(round)s: %(outcome)s: %(notes)s", **said, notes=notes)
    return N_("Follow-up call %(round)s: %(outcome)s", **said)
