"""Repair turnaround: days from the returned unit being booked in (``received``) to the
repaired unit shipping back, for the repairs shipped in the period (returns/repairs.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from returns.metrics_maths import DurationStats, Period, days_between
from returns.repair_orders import RepairOrder


def load_repair_turnaround(session: Session, period: Period) -> DurationStats:
    rows = session.execute(
        select(RepairOrder.received_at, RepairOrder.shipped_at).where(
            RepairOrder.received_at.is_not(None),
            RepairOrder.shipped_at >= period.start,
            RepairOrder.shipped_at < period.end,
        )
    ).all()
    return DurationStats.of(
        [
            days_between(received, shipped)
            for received, shipped in rows
            if received is not None and shipped is not None
        ]
    )
