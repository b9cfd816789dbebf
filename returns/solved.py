"""Ending a case the desk solved without a return, in the same step as recording it
(knowledge/cases.py counts it in the deflection rate).

- An enquiry or a complaint is resolved (if it is not already) and closed, so its follow-up
  call is due as after any closing.
- A return not yet on its way (requested, authorised, waiting for the pickup) is cancelled:
  its reserved replacement is released and an unused prepaid label refunded, as any cancel.
- A case already ended is left as it is (the step can be repeated); a return whose parcel the
  carrier already has cannot end this way (a Conflict, nothing recorded).

Each stage runs in its own transaction, in order; a repeat finishes what a failure left."""

from __future__ import annotations

from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import N_, Conflict
from returns.authorisation import Authorisation
from returns.cases import Cases
from returns.closing import Closing
from returns.rma import Rma
from returns.status import TERMINAL, WAITING_FOR_PARCEL, CaseKind, RmaStatus

#: The reason on the timeline (and in the metrics: a case closed this way).
REASON = "Solved without a return"
CANCELLABLE = frozenset({RmaStatus.REQUESTED}) | WAITING_FOR_PARCEL


class SolvedWithoutReturn:
    def __init__(self, cases: Cases, closing: Closing, authorisation: Authorisation):
        self.cases = cases
        self.closing = closing
        self.authorisation = authorisation

    def end(self, actor: str, number: str) -> None:
        """End the case ``number`` as solved without a return (see the module's note)."""
        with UnitOfWork(self.cases.ctx.session_factory) as uow:
            kind, status = uow.session.execute(
                select(Rma.kind, Rma.status).where(Rma.number == number)
            ).one()
        if status in TERMINAL:
            return
        if kind is CaseKind.RETURN:
            if status not in CANCELLABLE:
                raise Conflict(
                    N_(
                        "%(number)s is %(status)s: the carrier has the parcel, so it cannot "
                        "end without a return.",
                        number=number,
                        status=status.value,
                    ),
                    code="return_under_way",
                )
            self.authorisation.cancel(actor, number, REASON)
            return
        if status is not RmaStatus.RESOLVED:
            self.cases.move(actor, number, "resolve", REASON)
        self.closing.close(actor, number, REASON)
