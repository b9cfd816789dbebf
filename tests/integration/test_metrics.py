"""Every figure of the metrics report on the hand-made history of tests/support/metrics_history.py.

Each expected number is worked out by hand from the tables in that module's docstring. Days
are (released - created): 36 hours is 1.5 days. Percentiles interpolate between ranks: the
p-th percentile of n sorted values is at rank p/100 x (n - 1), counting from 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from returns.metrics import MetricsService
from returns.metrics_figures import Metrics
from returns.metrics_maths import Period, Rate
from returns.status import Reason
from tests.support.metrics_history import NOW, build_history, make_rma, nov, t


@pytest.fixture
def numbers(session_factory: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    return build_history(session_factory, clock)


@pytest.fixture
def report(
    numbers: dict[str, str], session_factory: sessionmaker[Session], clock: FrozenClock
) -> Metrics:
    clock.set(NOW)
    period = Period.from_dates(date(2026, 11, 2), date(2026, 11, 22))
    return MetricsService(session_factory, clock).report(period)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def group(groups: list[Any], key: str) -> Any:
    (found,) = [g for g in groups if g.key == key]
    return found.figures


def test_the_period_is_whole_utc_days_with_the_last_day_included() -> None:
    period = Period.from_dates(date(2026, 11, 2), date(2026, 11, 22))
    assert (period.start, period.end) == (nov(2), nov(23))
    assert period.days == 21


def test_refund_completion_time_counts_the_refunds_released_in_the_period(report: Metrics) -> None:
    # Released Nov 2-22: R11 5.0, R1 1.0, R2 1.5, R3 2.0, R4 3.0, R6 6.0 (R11 was opened in
    # October but completed in the period; R9, R10 before it, R12 after it).
    # Sorted 1.0 1.5 2.0 3.0 5.0 6.0: mean 18.5 / 6; median at rank 2.5 = 2.0 + 0.5 x 1.0;
    # p90 at rank 4.5 = 5.0 + 0.5 x 1.0.
    refund = report.overall.refund_time
    assert refund.count == 6
    assert refund.mean == approx(18.5 / 6)
    assert refund.median == approx(2.5)
    assert refund.p90 == approx(5.5)


def test_time_to_replacement_counts_replacements_shipped_in_the_period(report: Metrics) -> None:
    # R13: Oct 30 12:00 -> Nov 2 00:00 = 2.5 d; R5: Nov 10 00:00 -> 12:00 = 0.5 d.
    # Mean 1.5; median at rank 0.5 = 0.5 + 0.5 x 2.0 = 1.5; p90 at rank 0.9 = 0.5 + 0.9 x 2.0.
    replacement = report.overall.replacement_time
    assert (replacement.count, replacement.mean) == (2, approx(1.5))
    assert replacement.median == approx(1.5)
    assert replacement.p90 == approx(2.3)


def test_self_completion_leaves_out_refunds_that_were_ever_disputed(report: Metrics) -> None:
    # Of the 6 refunds released in the period, R3 was disputed: 5 / 6.
    assert report.overall.self_completion == Rate(5, 6)


def test_the_rolling_28_days_end_with_the_period_and_include_their_first_instant(
    report: Metrics,
) -> None:
    # Window [Oct 26 00:00, Nov 23 00:00): the period's 6 refunds and R9 (released at Oct 26
    # 00:00 exactly, disputed); R10 (Oct 25 23:59:59) is one second too early. 5 / 7.
    assert (report.rolling.start, report.rolling.end) == (t(10, 26), nov(23))
    assert report.rolling_self_completion == Rate(5, 7)


def test_the_rolling_window_ends_now_when_the_period_reaches_into_the_future(
    numbers: dict[str, str], session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    # Now is Nov 23 09:00; the period runs to Nov 30. Window [Oct 26 09:00, Nov 23 09:00):
    # R9 (Oct 26 00:00) drops out, R12 (Nov 23 05:00) comes in. Refunds R11, R1, R2, R3
    # (disputed), R4, R6, R12: 6 of 7 without a dispute.
    clock.set(NOW)
    result = MetricsService(session_factory, clock).report(
        Period.from_dates(date(2026, 11, 2), date(2026, 11, 30))
    )
    assert (result.rolling.start, result.rolling.end) == (t(10, 26, 9), NOW)
    assert result.rolling_self_completion == Rate(6, 7)


def test_dispute_rate_is_disputed_requests_among_the_requests(report: Metrics) -> None:
    # Requests opened Nov 2-22: R1-R8 (8). R3 was disputed; R9 was too, but in October.
    assert report.overall.requests == 8
    assert report.overall.disputes == Rate(1, 8)


def test_response_compliance_counts_answers_by_the_deadline(report: Metrics) -> None:
    # Due or answered: R1-R7 (R8 is due Nov 23 12:00, after now, and unanswered).
    # By the deadline: R1, R4, R6, R7. R2 and R3 answered late, R5 never answered: 4 / 7.
    assert report.overall.response_on_target == Rate(4, 7)


def test_the_24_hour_bar_counts_answers_within_a_day_of_intake(report: Metrics) -> None:
    # 24 hours old or answered: R1-R7 (R8 is 13 hours old). Within 24 h: R1 (0.5 h), R2 (6 h),
    # R4 (12 h), R6 (0.75 h), R7 (1 h); R3 took 25 h, R5 none: 5 / 7.
    assert report.overall.response_within_24h == Rate(5, 7)


def test_breaches_count_late_and_missing_responses_and_resolutions(report: Metrics) -> None:
    # Response: R2 late, R3 late, R5 missing past due (R8 not due yet) = 3.
    # Resolution: R2 late, R3 missing past due (R4 due Nov 30, R1 and R5 on time) = 2.
    assert report.overall.response_breaches == 3
    assert report.overall.resolution_breaches == 2


def test_satisfaction_is_the_follow_up_scores_of_the_periods_requests(report: Metrics) -> None:
    # Scores 5 (R1), 3 (R2), 1 (R3), 4 (R5): mean 13 / 4; median of 1 3 4 5 = 3.5;
    # 4 or 5: R1, R5 = 2 / 4. Confirmed fixed: R1 yes, R2 no, R5 yes = 2 / 3.
    overall = report.overall
    assert overall.satisfaction.count == 4
    assert overall.satisfaction.mean == approx(3.25)
    assert overall.satisfaction.median == approx(3.5)
    assert overall.satisfied == Rate(2, 4)
    assert overall.confirmed_fixed == Rate(2, 3)


def test_breakdown_by_priority(report: Metrics) -> None:
    # urgent: R1, R6 requested; refunds 1.0 and 6.0: mean 3.5, p90 = 1.0 + 0.9 x 5.0 = 5.5.
    urgent = group(report.by_priority, "urgent")
    assert urgent.requests == 2
    assert (urgent.refund_time.mean, urgent.refund_time.p90) == (approx(3.5), approx(5.5))
    assert urgent.response_on_target == Rate(2, 2)
    # high: R2 (answered late), R7 (on time): 1 / 2; one refund, R2's 1.5 days.
    high = group(report.by_priority, "high")
    assert high.response_on_target == Rate(1, 2)
    assert (high.refund_time.count, high.refund_time.mean) == (1, approx(1.5))
    # medium: R3, R5, R8 requested; refunds R3 2.0 and R11 5.0; replacements R13 2.5 d and
    # R5 0.5 d: mean 1.5; R3 disputed: 1 / 3.
    medium = group(report.by_priority, "medium")
    assert medium.requests == 3
    assert medium.refund_time.mean == approx(3.5)
    assert (medium.replacement_time.count, medium.replacement_time.mean) == (2, approx(1.5))
    assert medium.disputes == Rate(1, 3)
    # low: R4, refund 3.0 days (R10 is low too, but outside the period).
    low = group(report.by_priority, "low")
    assert (low.requests, low.refund_time.count, low.refund_time.mean) == (1, 1, approx(3.0))
    assert [g.key for g in report.by_priority] == ["urgent", "high", "medium", "low"]


def test_breakdown_by_channel(report: Metrics) -> None:
    # phone: R4 requested; refunds R4 3.0 and R11 5.0 (opened in October): mean 4.0.
    phone = group(report.by_channel, "phone")
    assert (phone.requests, phone.refund_time.mean) == (1, approx(4.0))
    # marketplace: R1 and R7, no disputes: 0 / 2.
    marketplace = group(report.by_channel, "marketplace")
    assert marketplace.disputes == Rate(0, 2)
    # email: R3, R8 requested; R13's replacement 2.5 d.
    email = group(report.by_channel, "email")
    assert (email.requests, email.replacement_time.count) == (2, 1)
    assert {g.key for g in report.by_channel} == {"phone", "email", "web", "chat", "marketplace"}


def test_breakdown_by_reason(report: Metrics) -> None:
    # defective: R1, R2, R5, R7 requested; refunds R1 1.0, R2 1.5, R11 5.0: mean 2.5,
    # median 1.5.
    defective = group(report.by_reason, "defective")
    assert defective.requests == 4
    assert defective.refund_time.mean == approx(2.5)
    assert defective.refund_time.median == approx(1.5)
    # wrong_item: R3 alone, disputed.
    assert group(report.by_reason, "wrong_item").disputes == Rate(1, 1)


def test_breakdown_by_part_counts_an_rma_once_per_part_on_its_lines(report: Metrics) -> None:
    # CAB-1: R4 and R5 (whose lines hold FAN-80 and CAB-1); R4's refund 3.0, R5's
    # replacement 0.5.
    cab = group(report.by_part, "CAB-1")
    assert (cab.requests, cab.refund_time.mean, cab.replacement_time.mean) == (
        2,
        approx(3.0),
        approx(0.5),
    )
    # FAN-80: R1, R2, R5, R7 requested; refunds R1, R2, R11.
    fan = group(report.by_part, "FAN-80")
    assert (fan.requests, fan.refund_time.count) == (4, 3)
    # PSU-65: R3, R6, R8; refunds R3 2.0 and R6 6.0: mean 4.0.
    psu = group(report.by_part, "PSU-65")
    assert (psu.requests, psu.refund_time.mean) == (3, approx(4.0))


def test_breakdown_by_supplier(report: Metrics) -> None:
    # ACME (FAN-80, PSU-65): R1, R2, R3, R5, R6, R7, R8 requested; refunds R1 1.0, R2 1.5,
    # R3 2.0, R6 6.0, R11 5.0: mean 15.5 / 5 = 3.1. BOLT (CAB-1): R4, R5.
    acme = group(report.by_supplier, "ACME")
    assert (acme.requests, acme.refund_time.mean) == (7, approx(3.1))
    assert group(report.by_supplier, "BOLT").requests == 2


def test_weekly_trend(report: Metrics) -> None:
    # Week of Nov 2: requests R1-R3; refunds R11 5.0, R1 1.0, R2 1.5, R3 2.0: mean 9.5 / 4,
    # median (1.5 + 2.0) / 2. Week of Nov 9: R4, R5; refund R4 3.0; response R4 on time, R5
    # missing. Week of Nov 16: R6, R7, R8; refund R6 6.0; response R6, R7 on time (R8 not due).
    assert [w.start for w in report.weekly] == [nov(2), nov(9), nov(16)]
    first, second, third = (w.figures for w in report.weekly)
    assert (first.requests, first.refund_time.count) == (3, 4)
    assert first.refund_time.mean == approx(2.375)
    assert first.refund_time.median == approx(1.75)
    assert (second.requests, second.refund_time.mean) == (2, approx(3.0))
    assert second.response_on_target == Rate(1, 2)
    assert (third.requests, third.refund_time.mean) == (3, approx(6.0))
    assert third.response_on_target == Rate(2, 2)


def test_a_period_starting_mid_week_clips_its_first_and_last_weeks(
    numbers: dict[str, str], session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    # Nov 4 (Wednesday) to Nov 10 (Tuesday): week of Nov 2 from Nov 4 (R3 requested; R3's
    # refund Nov 6), week of Nov 9 up to Nov 11 00:00 (R4, R5 requested; no refund yet).
    result = MetricsService(session_factory, clock).report(
        Period.from_dates(date(2026, 11, 4), date(2026, 11, 10))
    )
    assert [w.start for w in result.weekly] == [nov(2), nov(9)]
    assert [(w.figures.requests, w.figures.refund_time.count) for w in result.weekly] == [
        (1, 2),  # R3 requested; refunds R2 (Nov 5 00:00) and R3 (Nov 6)
        (2, 0),
    ]


def test_histogram_of_refund_completion_time(report: Metrics) -> None:
    # 1.0 and 1.5 in [1, 2); 2.0 in [2, 3); 3.0 in [3, 5); 5.0 and 6.0 in [5, 7).
    counts = {b.label: b.count for b in report.refund_time_histogram}
    assert counts == {
        "0-1 d": 0,
        "1-2 d": 2,
        "2-3 d": 1,
        "3-5 d": 1,
        "5-7 d": 2,
        "7-10 d": 0,
        "10-15 d": 0,
        "≥15 d": 0,
    }


def test_return_rate_by_part_with_the_top_fault_reasons(report: Metrics) -> None:
    # Returned units (R7 rejected, left out): FAN-80 1 (R1) + 2 (R2) + 1 (R5) = 4, all
    # defective; PSU-65 1 (R3 wrong item) + 1 (R6 not as described) + 3 (R8 no longer
    # needed) = 5; CAB-1 1 (R4 damaged) + 1 (R5 defective) = 2.
    # Shipped in the period: FAN-80 20 + 5 = 25; PSU-65 10; CAB-1 none.
    # Rates: PSU-65 5 / 10 = 0.5, FAN-80 4 / 25 = 0.16, CAB-1 none (listed last).
    rows = [(r.key, r.returned_units, r.shipped_units, r.rate) for r in report.part_return_rates]
    assert rows == [
        ("PSU-65", 5, 10, approx(0.5)),
        ("FAN-80", 4, 25, approx(0.16)),
        ("CAB-1", 2, 0, None),
    ]
    psu, fan, cab = report.part_return_rates
    # Ties go in the order of the reason list: wrong item before not as described.
    assert psu.top_reasons == (
        (Reason.NO_LONGER_NEEDED, 3),
        (Reason.WRONG_ITEM, 1),
        (Reason.NOT_AS_DESCRIBED, 1),
    )
    assert fan.top_reasons == ((Reason.DEFECTIVE, 4),)
    assert cab.top_reasons == ((Reason.DEFECTIVE, 1), (Reason.DAMAGED_IN_TRANSIT, 1))


def test_return_rate_by_supplier(report: Metrics) -> None:
    # ACME: 4 + 5 = 9 returned of 25 + 10 = 35 shipped; top reasons defective 4, no longer
    # needed 3, wrong item 1 (ties with not as described, which comes later in the list).
    # BOLT: 2 returned, nothing shipped.
    acme, bolt = report.supplier_return_rates
    assert (acme.key, acme.returned_units, acme.shipped_units) == ("ACME", 9, 35)
    assert acme.rate == approx(9 / 35)
    assert acme.top_reasons == (
        (Reason.DEFECTIVE, 4),
        (Reason.NO_LONGER_NEEDED, 3),
        (Reason.WRONG_ITEM, 1),
    )
    assert (bolt.key, bolt.returned_units, bolt.shipped_units, bolt.rate) == ("BOLT", 2, 0, None)


def test_what_if_refunds_had_waited_for_the_warehouse(report: Metrics) -> None:
    # Refunds released in the period: R1, R2, R3, R4, R6, R11. Arrival: R1 delivered Nov 8
    # 10:00 (6.0 d), R3 delivered Nov 13 09:00 (9.0 d; its receipt at 15:00 is later and
    # ignored), R6 delivered Nov 21 10:00 (5.0 d), R11 delivered Nov 4 10:00 (7.0 d); R2 has
    # no delivered event, booked in Nov 12 12:00 (9.0 d); R4's parcel is still travelling
    # (its delivered outbound parcel is not the return).
    what_if = report.what_if
    assert (what_if.refunds, what_if.arrived, what_if.not_arrived) == (6, 5, 1)
    assert (what_if.from_carrier, what_if.from_receipt) == (4, 1)
    # Actual, all six: as the refund completion time.
    assert what_if.actual == report.overall.refund_time
    # The five arrived, as they happened: 1.0 1.5 2.0 5.0 6.0 -> mean 3.1, median 2.0,
    # p90 at rank 3.6 = 5.0 + 0.6 x 1.0.
    assert what_if.actual_arrived.mean == approx(3.1)
    assert what_if.actual_arrived.median == approx(2.0)
    assert what_if.actual_arrived.p90 == approx(5.6)
    # Had they waited: 5 6 7 9 9 -> mean 7.2, median 7.0, p90 at rank 3.6 = 9.0.
    assert what_if.hypothetical.mean == approx(7.2)
    assert what_if.hypothetical.median == approx(7.0)
    assert what_if.hypothetical.p90 == approx(9.0)
    # Per refund: R1 +5.0, R2 +7.5, R3 +7.0, R6 -1.0 (R6 was refunded after arrival),
    # R11 +2.0: mean 20.5 / 5 = 4.1.
    assert what_if.extra_days.mean == approx(4.1)
    counts = {b.label: b.count for b in what_if.hypothetical_histogram if b.count}
    assert counts == {"5-7 d": 2, "7-10 d": 3}


def test_a_period_without_returns_has_empty_figures(
    numbers: dict[str, str], session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    result = MetricsService(session_factory, clock).report(
        Period.from_dates(date(2026, 6, 1), date(2026, 6, 30))
    )
    assert result.overall.requests == 0
    assert result.overall.refund_time.mean is None
    assert result.overall.self_completion.value is None
    assert result.by_priority == [] and result.part_return_rates == []
    assert result.what_if.refunds == 0


def test_a_thousand_rmas_take_a_handful_of_queries(
    session_factory: sessionmaker[Session], clock: FrozenClock, numbers: dict[str, str]
) -> None:
    from inventory.models import Part

    with session_factory() as session:
        fan = session.scalar(select(Part.id).where(Part.sku == "FAN-80"))
        for i in range(1000):
            created = nov(2) + timedelta(minutes=29 * i)
            rma = make_rma(
                session,
                f"RMA-BULK-{i:05d}",
                created,
                lines=[(fan, "FAN-80", 1)],
                refund_released_at=created + timedelta(days=1),
            )
            session.expunge(rma)
        session.commit()
    engine = session_factory.kw["bind"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = MetricsService(session_factory, clock).report(
            Period.from_dates(date(2026, 11, 2), date(2026, 11, 22))
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # 6 history refunds + every bulk RMA released before Nov 23 00:00, i.e. created before
    # Nov 22 00:00: 29 x i minutes < 20 days x 1440 = 28,800 -> i <= 993, so 994 of them.
    assert result.overall.refund_time.count == 6 + 994
    assert len(statements) <= 15, statements
