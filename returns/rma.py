"""The RMA aggregate: one return with its lines, replacements and timeline, and its rules.

The rules are plain methods on the rows (state moves, what the refund is, whether it may go
out by itself, auto-authorisation), so they run without a database: tests/unit/test_rma_rules.py.
The stage modules (intake, authorisation, carrier_events, refunds, warehouse, closing) load an
RMA, call these methods, and write what they decide in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import (
    Mapped,
    WriteOnlyMapped,
    mapped_column,
    object_session,
    relationship,
    validates,
)

from core.db import Base, BigIntPK, UTCDateTime, string_enum
from core.errors import N_, InvalidInput, filled, stored
from core.money import ExactDecimal
from purchasing.claims import SupplierClaim
from returns import owner_models  # noqa: F401  (desk_teams, which owner_team_id names)
from returns import rma_texts as texts
from returns.errors import IllegalTransition, NotAReturn
from returns.policy import ReturnPolicy
from returns.status import (
    CASE_STATES,
    REFUND_UNDER_WAY,
    TERMINAL,
    CaseKind,
    Channel,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
    RootCause,
    transitions_for,
)

#: The actor of what spareflow does by itself (carrier events, jobs, the outbox).
SYSTEM = "spareflow"
#: Reasons judged against the warranty rather than the no-questions return window.
WARRANTY_REASONS = frozenset({Reason.DEFECTIVE, Reason.DAMAGED_IN_TRANSIT, Reason.MISSING_ITEM})
#: Timeline entries the customer never sees: taking or handing over a case is no answer.
NOT_A_RESPONSE = frozenset({"owner"})
#: Refund states a release (automatic or by hand) can start from.
RELEASABLE = frozenset({RefundStatus.AWAITING_PICKUP, RefundStatus.HELD})


def months_later(start: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_return_policy(
    policy: ReturnPolicy,
    purchased: date | None,
    reason: Reason,
    skus: list[str],
    today: date,
    shipped: Mapping[str, date] | None = None,
) -> None:
    """A defect is judged by each part's warranty; any other reason by the return window.

    Warranty by unit: where ``shipped`` knows when the returned unit of a SKU shipped (its
    serial), that part's warranty counts from that date instead of the purchase date.
    Refused with the field and a code the desk can act on (a supervisor may override)."""
    shipped = shipped or {}
    if reason in WARRANTY_REASONS:
        for sku in skus:
            start = shipped.get(sku, purchased)
            if start is None:
                continue
            months = policy.warranty_for(sku)
            if today > months_later(start, months):
                by_unit = sku in shipped
                raise InvalidInput(
                    "serial" if by_unit else "purchase_date",
                    f"The {months}-month warranty of {sku} "
                    + ("(counted from the unit's ship date) " if by_unit else "")
                    + f"ended on {months_later(start, months).isoformat()}; a supervisor "
                    "can override with a reason.",
                    code="warranty_expired",
                )
    elif purchased is not None and (today - purchased).days > policy.return_window_days:
        raise InvalidInput(
            "purchase_date",
            N_(
                "The %(return_window_days)s-day return window has passed; a "
                "supervisor can override with a reason.",
                return_window_days=policy.return_window_days,
            ),
            code="return_window_expired",
        )


@dataclass(frozen=True)
class RefundDecision:
    """Whether a due refund goes out now, or waits for a supervisor (and why)."""

    hold_reason: str | None = None

    @property
    def release(self) -> bool:
        return self.hold_reason is None


class Rma(Base):
    __tablename__ = "rmas"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[RmaStatus] = mapped_column(string_enum(RmaStatus), index=True)
    #: A return (the default), an enquiry or a complaint (returns/cases.py): one numbering,
    #: one queue, one set of service-level clocks.
    kind: Mapped[CaseKind] = mapped_column(
        string_enum(CaseKind), default=CaseKind.RETURN, server_default="return", index=True
    )
    #: A complaint's root cause; the complaint a return was opened from.
    root_cause: Mapped[RootCause | None] = mapped_column(string_enum(RootCause))
    origin_case_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(50))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    order_number: Mapped[str | None] = mapped_column(String(100), index=True)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(string_enum(Channel))
    #: A return's reason and resolution; None for an enquiry or a complaint.
    reason: Mapped[Reason | None] = mapped_column(string_enum(Reason))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[Resolution | None] = mapped_column(string_enum(Resolution))
    priority: Mapped[Priority] = mapped_column(string_enum(Priority))
    policy_override_reason: Mapped[str | None] = mapped_column(Text)
    policy_override_by: Mapped[str | None] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3))
    refund_status: Mapped[RefundStatus] = mapped_column(string_enum(RefundStatus))
    refund_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_hold_reason: Mapped[str | None] = mapped_column(String(300))
    #: Who held the refund ("spareflow" for the automatic limits, else the person whose
    #: hand-entered event needs a supervisor) and who released it (a person, or "spareflow"
    #: for the carrier's own pickup scan).
    refund_held_by: Mapped[str | None] = mapped_column(String(254))
    refund_released_by: Mapped[str | None] = mapped_column(String(254))
    refund_reference: Mapped[str | None] = mapped_column(String(100))  # the provider's refund id
    refund_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    refund_error: Mapped[str | None] = mapped_column(Text)
    needs_recovery: Mapped[str | None] = mapped_column(
        String(300)
    )  # refunded, parcel lost/returned
    needs_chase: Mapped[str | None] = mapped_column(
        String(300)
    )  # replacement out, return never came
    # The customer's address (returns.commands.CustomerAddress; rules in core/addresses.py):
    # where a prepaid label collects from and a replacement goes to. One column per field,
    # all null when intake had none; ``address_country`` is ISO 3166-1 alpha-2.
    address_name: Mapped[str | None] = mapped_column(String(200))
    address_company: Mapped[str | None] = mapped_column(String(200))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_street2: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    address_postcode: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(2))
    address_phone: Mapped[str | None] = mapped_column(String(50))
    return_carrier: Mapped[str | None] = mapped_column(String(32))
    return_tracking_number: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The prepaid return label bought for this RMA (returns/labels.py): what it cost, from
    #: which provider, the provider's id of it, and what became of refunding it unused
    #: ("refunded", "submitted", "refused", "failed").
    return_label_cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    return_label_currency: Mapped[str | None] = mapped_column(String(3))
    return_label_provider: Mapped[str | None] = mapped_column(String(20))
    return_label_id: Mapped[str | None] = mapped_column(String(100))
    return_label_refund: Mapped[str | None] = mapped_column(String(20))
    #: The carrier's collection of that label's parcel (returns/pickups.py): the booked
    #: window (UTC) and the provider's id of the pickup; empty until one is booked.
    pickup_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_id: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    confirmed_fixed: Mapped[bool | None] = mapped_column(Boolean)
    followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The customer's language for messages (a Babel locale id: "en", "zh_Hans").
    customer_language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    # Service levels (see returns/service_levels.py): deadlines set at intake in the desk's
    # working hours, when they were met, and when the desk was warned or a supervisor alerted.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Out-of-hours intake: when the automatic acknowledgement was queued.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the customer was reminded that the authorisation is about to expire.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the RMA reached a final state (closed, rejected, cancelled, expired).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Its owner (returns/routing.py): a person, and the team it was routed through; a team
    #: and no person while nobody of the team is on shift (the team's out-of-hours queue).
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_team_id: Mapped[int | None] = mapped_column(ForeignKey("desk_teams.id"), index=True)

    # Loaded when a rule touches them; pages and the API read RMAs through returns/queries.py.
    lines: Mapped[list[RmaLine]] = relationship(
        back_populates="rma", order_by="RmaLine.id", cascade="all, delete-orphan"
    )
    #: The timeline is only ever added to here, never loaded to append one line.
    transitions: WriteOnlyMapped[RmaTransition] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    replacements: Mapped[list[Replacement]] = relationship(
        order_by="Replacement.id", cascade="all, delete-orphan"
    )
    claims: WriteOnlyMapped[SupplierClaim] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("refund_amount_minor >= 0", name="refund_not_negative"),
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"
        ),
    )

    # --- money ---------------------------------------------------------------------------

    @property
    def owes_refund(self) -> bool:
        """A refund, or an exchange: a replacement with the original payment to refund.

        As DOMAIN.md describes, an exchange refunds the original on pickup and ships the
        replacement at once as a new order. A replacement without a payment reference is a
        free (warranty) replacement; a repair refunds nothing.
        """
        if self.resolution is Resolution.REFUND:
            return True
        return self.resolution is Resolution.REPLACEMENT and bool(self.payment_reference)

    def paid(self) -> Decimal:
        return sum((line.unit_price * line.qty for line in self.lines), Decimal(0))

    def refund_amount(self, policy: ReturnPolicy) -> int:
        """What the customer paid for the returned lines, less the reason's restocking fee."""
        paid = self.paid()
        fee = policy.restocking_fee_percent
        fee_percent = fee.get(self.reason, Decimal(0)) if self.reason else Decimal(0)
        return policy.to_minor(paid - paid * fee_percent / 100)

    def auto_authorisable(self, policy: ReturnPolicy) -> bool:
        """In policy, not flagged, and worth no more than the automatic authorisation limit."""
        limit = policy.auto_authorise_limit_minor
        return (
            limit > 0
            and not self.policy_override_reason
            and not policy.is_flagged(self.customer_email)
            and policy.to_minor(self.paid()) <= limit
        )

    def money(self, minor_units: int) -> str:
        """The refund amount as the customer reads it ("12.50 USD")."""
        amount = Decimal(self.refund_amount_minor).scaleb(-minor_units)
        return f"{amount} {self.currency.upper()}"

    # --- the refund decision -------------------------------------------------------------

    @property
    def refund_releasable(self) -> bool:
        return self.refund_status in RELEASABLE

    def refund_decision(
        self,
        policy: ReturnPolicy,
        *,
        earlier_refunds_minor: int,
        provider_configured: bool,
        by_supervisor: bool = False,
    ) -> RefundDecision:
        """Whether the refund goes out now or waits for a supervisor.

        ``earlier_refunds_minor``: this customer's other refunds under way or made within
        ``policy.customer_limit_days``. A supervisor's release passes the automatic limits, but
        never a missing provider (refunds are held, never "paid" to nowhere).
        """
        if not provider_configured:
            return RefundDecision(texts.NO_PROVIDER)
        if by_supervisor:
            return RefundDecision()
        if policy.is_flagged(self.customer_email):
            return RefundDecision(texts.FLAGGED)
        if self.refund_amount_minor > policy.auto_refund_limit_minor:
            return RefundDecision(filled(texts.ABOVE_LIMIT, amount=self.money(policy.minor_units)))
        if earlier_refunds_minor + self.refund_amount_minor > policy.customer_refund_limit_minor:
            return RefundDecision(filled(texts.CUSTOMER_LIMIT, days=policy.customer_limit_days))
        return RefundDecision()

    def hold_refund(self, actor: str, reason: str, now: datetime) -> RmaTransition:
        """The refund waits for a supervisor, saying who held it and why."""
        self.require_return("refund")
        self.refund_status = RefundStatus.HELD
        self.refund_hold_reason = reason[:300]
        self.refund_held_by = actor
        return self.note("refund", actor, filled(texts.REFUND_HELD, reason=reason), now)

    def release_refund(self, actor: str) -> None:
        """The refund is on its way to the provider (the caller queues it)."""
        self.require_return("refund")
        if not self.refund_releasable:
            raise IllegalTransition(self.number, self.refund_status.value, "refund pending")
        self.refund_status, self.refund_hold_reason = RefundStatus.PENDING, None
        self.refund_released_by = actor

    def refund_made(self, reference: str | None, now: datetime) -> RmaTransition:
        """The provider made the refund: released, and the customer's request is met."""
        self.refund_status = RefundStatus.RELEASED
        self.refund_released_at = now
        self.resolve(now)
        return self.note(
            "refund", SYSTEM, N_("Refund %(reference)s released", reference=reference), now
        )

    def drop_refund_if_unreleased(self) -> None:
        """The return ended before its refund went out: nothing is owed any more."""
        if self.refund_status in RELEASABLE:
            self.refund_status = RefundStatus.NONE

    # --- states and the timeline ---------------------------------------------------------

    @property
    def is_return(self) -> bool:
        return self.kind in (CaseKind.RETURN, None)  # None: not flushed yet, the default

    def require_return(self, step: str) -> None:
        """Refuse a return's step (labels, refunds, the warehouse) on an enquiry or complaint."""
        if not self.is_return:
            raise NotAReturn(self.number, self.kind.value, step)

    def can_move_to(self, to: RmaStatus) -> bool:
        return to in transitions_for(self.kind or CaseKind.RETURN)[self.status]

    def move_to(self, to: RmaStatus, actor: str, reason: str, now: datetime) -> RmaTransition:
        """Change state along the kind's table (raises IllegalTransition, or NotAReturn for a
        return's state asked of an enquiry or a complaint), on the timeline."""
        if not self.can_move_to(to):
            if not self.is_return and to not in CASE_STATES | {RmaStatus.CLOSED}:
                raise NotAReturn(self.number, self.kind.value, to.value)
            raise IllegalTransition(self.number, self.status.value, to.value)
        previous, self.status = self.status, to
        return self._log("status", previous, actor, reason, now)

    def note(self, kind: str, actor: str, text: str, now: datetime) -> RmaTransition:
        """A line on the timeline beside the state ("refund", "replacement", "email", ...)."""
        return self._log(kind, self.status, actor, text, now)

    def _log(
        self, kind: str, previous: RmaStatus | None, actor: str, reason: str, now: datetime
    ) -> RmaTransition:
        entry = RmaTransition(
            kind=kind,
            from_status=previous,
            to_status=self.status,
            actor=actor,
            reason=reason,
            at=now,
        )
        session = object_session(self)
        if self.id is not None and session is not None:
            # Straight into the session: ``self.transitions`` builds the collection's query
            # on every access, a tenth of applying a carrier event's CPU.
            entry.rma_id = self.id
            session.add(entry)
        else:
            self.transitions.add(entry)
        self.updated_at = now
        if (
            previous is not None
            and actor != SYSTEM
            and kind not in NOT_A_RESPONSE
            and self.first_response_at is None
        ):
            self.first_response_at = now  # an agent replied or acted: the customer has an answer
        if kind == "status" and self.status in TERMINAL:
            self.ended_at = now
            self.resolve(now)
        return entry

    def resolve(self, now: datetime) -> None:
        """The customer's request is met (refund out, replacement shipped, or the RMA ended)."""
        if self.resolved_at is None:
            self.resolved_at = now

    def opened(self, actor: str, now: datetime) -> RmaTransition:
        """The first line of the timeline."""
        channel = self.channel.value
        text = (
            N_(
                "Opened via %(channel)s; policy overridden: %(reason)s",
                channel=channel,
                reason=self.policy_override_reason,
            )
            if self.policy_override_reason
            else N_("Opened via %(channel)s", channel=channel)
        )
        return self._log("status", None, actor, text, now)

    def authorise(
        self, actor: str, reason: str, now: datetime, policy: ReturnPolicy
    ) -> RmaTransition:
        """Authorised: the customer may send the parcel until ``expires_at``; a refund now
        waits for the carrier's pickup scan."""
        entry = self.move_to(RmaStatus.AUTHORISED, actor, reason, now)
        self.expires_at = now + timedelta(days=policy.authorisation_days)
        if self.owes_refund:
            self.refund_status = RefundStatus.AWAITING_PICKUP
        return entry

    def end(self, to: RmaStatus, actor: str, reason: str, now: datetime) -> RmaTransition:
        """Rejected or cancelled by the desk: a refund not yet released is owed no more."""
        if not reason.strip():
            raise InvalidInput("reason", N_("Say why."))
        entry = self.move_to(to, actor, reason, now)
        self.drop_refund_if_unreleased()
        return entry

    def expire(self, now: datetime) -> list[RmaTransition]:
        """The parcel never reached the carrier in time. A refund released by hand, or a
        replacement already shipped, is now something the desk must recover."""
        entries = [
            self.move_to(
                RmaStatus.EXPIRED, SYSTEM, N_("No pickup before the authorisation expired"), now
            )
        ]
        if self.refund_status is RefundStatus.AWAITING_PICKUP:
            self.refund_status = RefundStatus.NONE
        elif self.refund_status in REFUND_UNDER_WAY:
            self.needs_recovery = texts.NEVER_REACHED_CARRIER
            entries.append(self.note("refund", SYSTEM, self.needs_recovery, now))
        if any(r.status is ReplacementStatus.SHIPPED for r in self.replacements):
            self.needs_chase = texts.NEVER_CAME_BACK
            entries.append(self.note("replacement", SYSTEM, self.needs_chase, now))
        return entries

    def close(
        self,
        actor: str,
        reason: str,
        now: datetime,
        policy: ReturnPolicy,
        followup_after: timedelta | None = None,
    ) -> RmaTransition:
        """Closed; the follow-up call is due ``followup_after`` (returns/followups.py: per kind
        and priority), by default the policy's ``followup_days``."""
        entry = self.move_to(RmaStatus.CLOSED, actor, reason or N_("Closed"), now)
        after = followup_after if followup_after is not None else timedelta(policy.followup_days)
        self.followup_due_at = now + after
        return entry

    def record_followup(
        self,
        actor: str,
        satisfaction: int,
        comment: str,
        confirmed_fixed: bool | None,
        now: datetime,
    ) -> RmaTransition:
        if self.status is not RmaStatus.CLOSED:
            raise IllegalTransition(self.number, self.status.value, "followed up")
        self.satisfaction, self.satisfaction_comment = satisfaction, comment or None
        self.confirmed_fixed = confirmed_fixed
        self.followup_due_at = None
        return self.note(
            "followup", actor, N_("Satisfaction %(satisfaction)s/5", satisfaction=satisfaction), now
        )

    @property
    def replacements_settled(self) -> bool:
        """Every replacement has shipped or was cancelled."""
        ended = (ReplacementStatus.SHIPPED, ReplacementStatus.CANCELLED)
        return all(r.status in ended for r in self.replacements)


class RmaLine(Base):
    __tablename__ = "rma_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(100))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))
    received_qty: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str | None] = mapped_column(String(200))
    serial_matches: Mapped[bool | None] = mapped_column(Boolean)
    disposition: Mapped[Disposition | None] = mapped_column(string_enum(Disposition))

    rma: Mapped[Rma] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("received_qty >= 0 AND received_qty <= qty", name="received_within_qty"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )


class RmaTransition(Base):
    """Every change of an RMA's state: who, when, from, to, why. The timeline."""

    __tablename__ = "rma_transitions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    #: "status" for a change of state; "refund", "replacement", "return_label" for what happened
    #: alongside (from and to are then the unchanged state).
    kind: Mapped[str] = mapped_column(String(20), default="status")
    from_status: Mapped[RmaStatus | None] = mapped_column(string_enum(RmaStatus, "from_status"))
    to_status: Mapped[RmaStatus] = mapped_column(string_enum(RmaStatus, "to_status"))
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: A reason spareflow wrote (``N_`` in core/errors.py): its template and parameters, so
    #: the timeline shows it in the reader's language; NULL for what people typed, and for
    #: rows from before (``reason`` is shown as it is).
    reason_template: Mapped[str | None] = mapped_column(Text)
    reason_params: Mapped[dict[str, str] | None] = mapped_column(JSON)

    @validates("reason")
    def _keep_template(self, _key: str, value: str) -> str:
        self.reason_template, self.reason_params = stored(value)
        return str(value)

    #: The metrics look up the RMAs ever disputed, and when each was received.
    __table_args__ = (Index("ix_rma_transitions_to_status_rma_id", "to_status", "rma_id"),)


class Replacement(Base):
    """An advance replacement for one RMA line: reserved at authorisation, in the pick queue."""

    __tablename__ = "replacements"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("rma_lines.id"))
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReplacementStatus] = mapped_column(string_enum(ReplacementStatus), index=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_by: Mapped[str | None] = mapped_column(String(254))
    #: The outbound label bought to ship it (cost in the RMA's currency's minor units).
    label_cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    label_provider: Mapped[str | None] = mapped_column(String(20))
    label_id: Mapped[str | None] = mapped_column(String(100))
    #: When its outbound shipment was delivered (the carrier-events stage).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rma: Mapped[Rma] = relationship(viewonly=True, lazy="raise")  # load it explicitly where needed
