"""What returns mean for the buyer's reorder suggestions (inventory's ReturnSupply).

- Supply: units on RMAs whose parcel the carrier has but that have not arrived, weighted by
  the share of this part's returned units that went back to stock before.
- Demand: advance replacements owed with nothing reserved (backordered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from purchasing.reorder.suggestions import IncomingReturns
from returns.rma import Replacement, Rma, RmaLine
from returns.status import Disposition, ReplacementStatus, RmaStatus

#: The carrier has the parcel; it has not been booked in yet.
ON_THE_WAY = (RmaStatus.PICKED_UP, RmaStatus.IN_TRANSIT)


class RmaReturnSupply:
    def __init__(self, default_restock_rate: Decimal = Decimal("0.5")):
        #: For parts never returned before: half come back sellable (a cautious guess).
        self.default_restock_rate = default_restock_rate

    def incoming(self, session: Session, part_ids: Sequence[int]) -> Mapping[int, IncomingReturns]:
        if not part_ids:
            return {}
        on_the_way = dict(
            session.execute(
                select(RmaLine.part_id, func.sum(RmaLine.qty - RmaLine.received_qty))
                .join(Rma, Rma.id == RmaLine.rma_id)
                .where(RmaLine.part_id.in_(part_ids), Rma.status.in_(ON_THE_WAY))
                .group_by(RmaLine.part_id)
            ).all()
        )
        if not on_the_way:
            return {}
        restocked = case(
            (RmaLine.disposition == Disposition.RESTOCK, RmaLine.received_qty), else_=0
        )
        history = {
            part_id: (int(back or 0), int(decided or 0))
            for part_id, back, decided in session.execute(
                select(RmaLine.part_id, func.sum(restocked), func.sum(RmaLine.received_qty))
                .where(RmaLine.part_id.in_(list(on_the_way)), RmaLine.disposition.is_not(None))
                .group_by(RmaLine.part_id)
            )
        }
        result = {}
        for part_id, units in on_the_way.items():
            back, decided = history.get(part_id, (0, 0))
            rate = Decimal(back) / Decimal(decided) if decided else self.default_restock_rate
            result[part_id] = IncomingReturns(picked_up=int(units), restock_rate=rate)
        return result

    def backorders(self) -> Any:
        return (
            select(RmaLine.part_id.label("part_id"), func.sum(Replacement.qty).label("qty"))
            .join(RmaLine, RmaLine.id == Replacement.line_id)
            .where(Replacement.status == ReplacementStatus.BACKORDERED)
            .group_by(RmaLine.part_id)
            .subquery("backorders")
        )
