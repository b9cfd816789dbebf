"""Return shipping in the metrics report: cost per RMA of the prepaid labels, and the
pickup-to-warehouse transit time per carrier (returns/metrics_shipping.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carriers.models import Direction
from carriers.status import TrackingStatus
from core.clock import FrozenClock
from inventory.models import Part
from returns.metrics import MetricsService
from returns.metrics_figures import Metrics
from returns.metrics_maths import Period
from returns.metrics_shipping import label_costs, transit_times
from tests.support.metrics_history import NOW, build_history, make_rma, nov, parcel

PERIOD = Period.from_dates(date(2026, 11, 2), date(2026, 11, 22))


@pytest.fixture
def report(session_factory: sessionmaker[Session], clock: FrozenClock) -> Metrics:
    build_history(session_factory, clock)
    with session_factory() as session:
        fan = session.scalar(select(Part.id).where(Part.sku == "FAN-80"))
        lines = [(fan, "FAN-80", 1)]
        labelled = [  # (number, created, cost, currency, refund of the unused label)
            ("RMA-SHIP-1", nov(3), 650, "usd", None),
            ("RMA-SHIP-2", nov(4), 1450, "usd", None),
            ("RMA-SHIP-3", nov(5), 650, "usd", "refunded"),
            ("RMA-SHIP-4", nov(6), 2200, "cny", "submitted"),
            ("RMA-SHIP-5", nov(30), 9999, "usd", None),  # created after the period
        ]
        for number, created, cost, currency, refund in labelled:
            make_rma(
                session,
                number,
                created,
                lines=lines,
                return_label_cost_minor=cost,
                return_label_currency=currency,
                return_label_provider="sandbox",
                return_label_id=f"lbl_{number}",
                return_label_refund=refund,
            )
        # Parcels: (carrier, picked up, delivered, direction)
        for index, (carrier, picked, delivered, direction) in enumerate(
            [
                ("sandbox", nov(3), nov(5, 12), Direction.INBOUND),  # 2.5 days
                ("sandbox", nov(4), nov(5), Direction.INBOUND),  # 1 day
                ("sandbox", nov(6), nov(10), Direction.INBOUND),  # 4 days
                ("sfexpress", nov(7), nov(8, 6), Direction.INBOUND),  # 1.25 days
                ("sfexpress", nov(7), nov(9), Direction.OUTBOUND),  # a replacement: left out
                ("ups", None, nov(9), Direction.INBOUND),  # no pickup scan: left out
                ("ups", nov(20), nov(23, 1), Direction.INBOUND),  # delivered after the period
            ]
        ):
            shipment = parcel(
                session,
                f"RMA-TRANSIT-{index}",
                [(TrackingStatus.DELIVERED, delivered)],
                direction=direction,
                carrier=carrier,
            )
            shipment.picked_up_at, shipment.delivered_at = picked, delivered
        session.commit()
    clock.set(NOW + timedelta(days=2))
    return MetricsService(session_factory, clock).report(PERIOD)


def test_return_shipping_cost_per_rma_by_currency_with_refunded_labels_netted(
    report: Metrics,
) -> None:
    usd, cny = sorted(report.label_costs, key=lambda c: c.currency, reverse=True)
    assert (usd.currency, usd.labels, usd.total_minor, usd.refunded) == ("usd", 3, 2750, 1)
    assert usd.mean_minor == pytest.approx(2750 / 3)
    assert usd.net_minor == 2100  # the refunded label cost nothing
    assert (cny.currency, cny.labels, cny.total_minor, cny.refunded, cny.net_minor) == (
        "cny",
        1,
        2200,
        0,
        2200,  # a refund still being checked counts as paid
    )


def test_transit_time_from_pickup_to_the_warehouse_per_carrier(report: Metrics) -> None:
    by_carrier = {row.carrier: row.days for row in report.transit_times}
    assert sorted(by_carrier) == ["sandbox", "sfexpress"]
    sandbox = by_carrier["sandbox"]
    assert (sandbox.count, sandbox.median) == (3, 2.5)
    assert sandbox.mean == pytest.approx((2.5 + 1 + 4) / 3)
    assert sandbox.p90 == pytest.approx(2.5 + 0.8 * 1.5)
    assert (by_carrier["sfexpress"].count, by_carrier["sfexpress"].mean) == (1, 1.25)


def test_without_labels_or_parcels_the_tables_are_empty() -> None:
    assert label_costs([]) == [] and transit_times([]) == []


def test_the_workbook_has_the_return_shipping_sheets(report: Metrics) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from returns.metrics_sheets import write_report

    stream = BytesIO()
    write_report(report, stream)
    book = load_workbook(BytesIO(stream.getvalue()), read_only=True)
    costs = [row for row in book["Return shipping cost"].iter_rows(values_only=True)]
    assert costs[0][:3] == ("Currency", "Labels", "Cost per RMA (minor units)")
    assert {row[0]: row[5] for row in costs[1:]} == {"CNY": 2200, "USD": 2100}
    transit = [row for row in book["Transit time by carrier"].iter_rows(values_only=True)]
    assert [(row[0], row[1]) for row in transit[1:]] == [("sandbox", 3), ("sfexpress", 1)]
