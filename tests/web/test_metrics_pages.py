"""The metrics page, its xlsx report and the dashboard's service charts (Flask client).

The numbers are those of tests/support/metrics_history.py, worked out by hand in
tests/integration/test_metrics.py.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from tests.support.metrics_history import FROM, NOW, TO, build_history
from tests.web.test_pages import PASSWORD, sign_in

PERIOD = f"?from={FROM}&to={TO}"


@pytest.fixture
def metrics_app(app: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    for role in Role:
        services.auth.create_user(f"{role.value}@metrics.example", role, PASSWORD)
    build_history(services.session_factory, clock)
    clock.set(NOW)
    return app


def signed_in(app: Any, role: Role) -> Any:
    client = app.test_client()
    assert sign_in(client, f"{role.value}@metrics.example", PASSWORD).status_code == 302
    return client


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:section|strong|table|p)>', html, re.S)
    assert match, element_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_the_desk_sees_the_figures_charts_and_breakdowns_of_a_period(metrics_app: Any) -> None:
    client = signed_in(metrics_app, Role.SERVICE_DESK)
    page = client.get(f"/metrics{PERIOD}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Mean refund time 18.5 / 6 = 3.08 days; rolling self-completion 5 / 7 = 71.4%.
    assert "3.1 d" in text_of(html, "fig-refund-time")
    assert "71.4%" in text_of(html, "fig-self-completion")
    # 1 of 8 requests disputed; 5 of 7 answered within 24 hours.
    assert "12.5%" in text_of(html, "fig-disputes")
    assert "71.4%" in text_of(html, "fig-response")
    # What-if: the 5 arrived refunds took 3.1 days; waiting for receipt, 7.2.
    assert text_of(html, "what-if-actual") == "3.1 d"
    assert text_of(html, "what-if-waited") == "7.2 d"
    for chart in (
        "chart-refund-trend",
        "chart-response-trend",
        "chart-what-if",
        "chart-distribution",
    ):
        assert re.search(rf'id="{chart}">\s*<svg class="chart"', html), chart
    for table in ("by-priority", "by-channel", "by-reason", "by-part", "by-supplier"):
        assert f'id="{table}"' in html
    # Return rates, highest first: PSU-65 50.0%, FAN-80 16.0%, CAB-1 nothing shipped.
    parts = text_of(html, "return-rate-parts")
    assert parts.index("PSU-65") < parts.index("FAN-80") < parts.index("CAB-1")
    assert "50.0%" in parts and "16.0%" in parts
    assert "no longer needed (3)" in parts
    assert 'href="/metrics"' in html  # in the navigation


def test_buyers_and_admins_may_open_the_page_warehouse_may_not(metrics_app: Any) -> None:
    for role in (Role.BUYER, Role.ADMIN):
        assert signed_in(metrics_app, role).get("/metrics").status_code == 200
    warehouse = signed_in(metrics_app, Role.WAREHOUSE)
    assert warehouse.get("/metrics").status_code == 403
    assert warehouse.get("/metrics/report.xlsx").status_code == 403
    assert 'href="/metrics"' not in warehouse.get("/dashboard").get_data(as_text=True)
    assert metrics_app.test_client().get("/metrics").status_code == 302  # to sign in


def test_a_bad_period_is_explained_on_the_page(metrics_app: Any) -> None:
    client = signed_in(metrics_app, Role.SERVICE_DESK)
    page = client.get("/metrics?from=2026-11-22&to=2026-11-02")
    assert page.status_code == 422
    assert "ends before it starts" in text_of(page.get_data(as_text=True), "period-problem")
    page = client.get("/metrics?from=22/11/2026")
    assert page.status_code == 422
    assert "is not a date" in page.get_data(as_text=True)


def test_the_report_downloads_as_a_workbook_with_the_numbers_as_numbers(metrics_app: Any) -> None:
    client = signed_in(metrics_app, Role.BUYER)
    response = client.get(f"/metrics/report.xlsx{PERIOD}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f"metrics-{FROM}-{TO}.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert {
        "Summary",
        "Refund time",
        "Self-completion & disputes",
        "Response targets",
        "Satisfaction",
        "Return rate by part",
        "Return rate by supplier",
        "Weekly",
        "Refund time distribution",
        "What-if",
    } <= set(book.sheetnames)

    def rows(sheet: str) -> list[tuple[Any, ...]]:
        return list(book[sheet].iter_rows(min_row=2, values_only=True))

    summary = {row[0]: row[1] for row in rows("Summary")}
    # Mean 18.5 / 6 = 3.0833 days (four places); median 2.5; p90 5.5.
    assert summary["Refund completion time, mean"] == pytest.approx(3.0833)
    assert summary["Refund completion time, median"] == pytest.approx(2.5)
    assert summary["Refund completion time, 90th percentile"] == pytest.approx(5.5)
    assert summary["Self-completion rate, rolling 28 days"] == pytest.approx(0.7143)
    assert summary["Dispute rate"] == pytest.approx(0.125)
    assert summary["First response by its deadline"] == pytest.approx(0.5714)  # 4 / 7
    assert summary["First response breaches"] == 3
    refund = {(row[0], row[1]): row for row in rows("Refund time")}
    # urgent: 2 refunds (1.0 and 6.0), mean 3.5; CAB-1: R5's replacement 0.5 d.
    assert refund[("priority", "urgent")][3:5] == (2, pytest.approx(3.5))
    assert refund[("part", "CAB-1")][7:9] == (1, pytest.approx(0.5))
    parts = rows("Return rate by part")
    assert [r[0] for r in parts] == ["PSU-65", "FAN-80", "CAB-1"]
    assert parts[1][2:5] == (4, 25, pytest.approx(0.16))
    assert isinstance(parts[1][4], float) and parts[2][4] is None
    suppliers = {r[0]: r for r in rows("Return rate by supplier")}
    assert suppliers["ACME"][2:4] == (9, 35)
    what_if = {row[0]: row[1:] for row in rows("What-if")}
    assert what_if["Mean (days)"] == (pytest.approx(3.1), pytest.approx(7.2))
    assert what_if["Parcel not arrived yet"][0] == 1
    weekly = rows("Weekly")
    assert [r[0].date().isoformat() for r in weekly] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert weekly[0][1:4] == (3, 4, pytest.approx(2.375))


def test_the_dashboard_charts_the_service_of_the_last_weeks(metrics_app: Any) -> None:
    html = signed_in(metrics_app, Role.WAREHOUSE).get("/dashboard").get_data(as_text=True)
    for chart in ("dashboard-refund-trend", "dashboard-response-trend"):
        assert re.search(rf'id="{chart}">\s*<svg class="chart"', html), chart
    # The dashboard covers Sep 28 (eight weeks before this Monday) to today: refunds R9, R10,
    # R11, R1, R2, R3, R4, R6 and R12 (Nov 23 05:00); their times are 5.5833 (Oct 20 10:00 ->
    # Oct 26), 6.5833 (R10), 5.0, 1.0, 1.5, 2.0, 3.0, 6.0 and 4/24 days: mean 30.8333 / 9.
    assert f"{30.8333333 / 9:.1f} d" in text_of(html, "service-summary")


def test_the_demo_data_shows_refunds_on_pickup_beside_refunds_on_receipt(app: Any) -> None:
    from demo.data import load_demo_data
    from returns.metrics import MetricsService

    services = app.extensions["spareflow"]
    load_demo_data(services, parts=40)
    metrics = MetricsService(services.session_factory, services.clock).report()
    what_if = metrics.what_if
    # Refunds go out at pickup, 0.5-2 days after authorisation; parcels reach the dock 3-15
    # days after pickup: about 1-2 days actual, 6-10 had refunds waited (a few held refunds
    # wait for the parcel either way).
    assert what_if.arrived >= 10
    assert 0.7 < what_if.actual_arrived.mean < 2.5
    assert 6 < what_if.hypothetical.mean < 11
    assert metrics.overall.requests > 20
    assert len(metrics.weekly) == 5 and all(w.figures.requests for w in metrics.weekly)
    assert metrics.part_return_rates and metrics.part_return_rates[0].shipped_units > 0
    assert services.inventory.verify_levels() == []  # the sales history went through the ledger


def test_a_chinese_user_reads_the_metrics_page_in_chinese(metrics_app: Any) -> None:
    services = metrics_app.extensions["spareflow"]
    services.auth.create_user("li@metrics.example", Role.BUYER, PASSWORD, language="zh_Hans")
    client = metrics_app.test_client()
    assert sign_in(client, "li@metrics.example", PASSWORD).status_code == 302
    html = client.get(f"/metrics{PERIOD}").get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", html)  # what a reader sees, without tags and attributes
    for text in ("退款完成时长", "如果退款要等包裹到仓？", "按优先级", "退货率与故障原因", "紧急"):
        assert text in visible, text
    for english in ("Refund completion time", "What if refunds", "By priority", "urgent"):
        assert english not in visible, english
    # Numbers keep their values: 3.1 days on pickup, 7.2 had they waited.
    assert text_of(html, "what-if-actual") == "3.1 天"
    assert text_of(html, "what-if-waited") == "7.2 天"
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "服务指标（按周）" in dashboard and "全部指标" in dashboard
