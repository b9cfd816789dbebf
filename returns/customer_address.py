"""The customer's address on an RMA: checked by the rules intake applies (core/addresses.py),
stored in the ``rmas.address_*`` columns, and corrected by the desk while it can still matter.

A correction is refused once the RMA has ended (nothing will be collected or sent any more),
once a prepaid return label exists (the label carries the old address: the desk cancels and
re-issues instead) and while one is being bought (the purchase already holds the old address).
After a label purchase failed (e.g. a bad address) the correction is what lets the desk try the
label again. Each correction is on the timeline and in the audit log: who, and which fields
(the audit log keeps field names, never the customer's address itself).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.addresses import ADDRESS_LENGTHS, MESSAGES, address_problems, normalise_postcode
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput
from core.outbox import OutboxMessage, OutboxStatus
from returns.commands import CustomerAddress
from returns.context import ReturnsContext, load_rma
from returns.label_desk import label_messages
from returns.queries import rma_detail
from returns.rma import Rma
from returns.status import TERMINAL
from returns.views import RmaDetail


def check_address(address: CustomerAddress, prefix: str = "customer.address.") -> None:
    """A given address is complete and well-formed; else refused with the field it names."""
    problems = address_problems(address.as_mapping())
    if problems:
        name, code = next(iter(problems.items()))
        raise InvalidInput(f"{prefix}{name}", MESSAGES[code], code=code)


def address_columns(address: CustomerAddress | None) -> dict[str, str | None]:
    """The ``rmas.address_*`` values: trimmed, empty fields null, the country upper case."""
    if address is None:
        return {}
    values = {name: value.strip() or None for name, value in address.as_mapping().items()}
    values["country"] = address.country.strip().upper()
    if values["postcode"]:
        values["postcode"] = normalise_postcode(values["postcode"])
    return {f"address_{name}": value for name, value in values.items()}


class CustomerAddresses:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def change(
        self, actor: str, number: str, address: CustomerAddress, reason: str = ""
    ) -> RmaDetail:
        """Replace the customer's address (its phone too) on an RMA; the fields that changed
        go on the timeline and in the audit log. Sending the same address changes nothing."""
        check_address(address, prefix="address.")
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True)
            self._check_changeable(session, rma)
            new = address_columns(address)
            changed = [
                name
                for name in ADDRESS_LENGTHS
                if getattr(rma, f"address_{name}") != new[f"address_{name}"]
            ]
            if changed:
                now = self.ctx.clock.now()
                for column, value in new.items():
                    setattr(rma, column, value)
                rma.updated_at = now
                # The fields are codes: the page shows each one's label.
                fields = ", ".join(changed)
                text = (
                    N_(
                        "Customer address changed (%(fields)s): %(reason)s",
                        fields=fields,
                        reason=reason.strip(),
                    )
                    if reason.strip()
                    else N_("Customer address changed (%(fields)s)", fields=fields)
                )
                rma.note("customer", actor, text, now)
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="rma.customer_address_changed",
                    target_type="rma",
                    target=rma.number,
                    reason=reason.strip(),
                    details={"fields": changed},
                )
                uow.commit()
            return rma_detail(session, rma.number)

    @staticmethod
    def _check_changeable(session: Session, rma: Rma) -> None:
        if rma.status in TERMINAL:
            raise Conflict(
                N_(
                    "%(number)s is %(status)s: its customer address can no longer change.",
                    number=rma.number,
                    status=rma.status.value,
                ),
                code="rma_ended",
                status=rma.status.value,
            )
        if rma.return_label_id:
            raise Conflict(
                N_(
                    "%(number)s has a prepaid return label (%(return_carrier)s "
                    "%(return_tracking_number)s) printed with the old address. Cancel "
                    "this RMA (the unused label is refunded) and open a new one with the "
                    "right address.",
                    number=rma.number,
                    return_carrier=rma.return_carrier,
                    return_tracking_number=rma.return_tracking_number,
                ),
                code="return_label_exists",
            )
        buying = session.scalar(
            select(OutboxMessage.key).where(
                *label_messages(rma.number), OutboxMessage.status == OutboxStatus.PENDING
            )
        )
        if buying:
            raise Conflict(
                N_(
                    "A prepaid return label for %(number)s is being bought with the "
                    "address as it was. Wait until it is bought or fails, then change the"
                    " address.",
                    number=rma.number,
                ),
                code="return_label_pending",
            )
