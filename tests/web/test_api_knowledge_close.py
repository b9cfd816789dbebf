"""Solved without a return, closing the case in the same step (the desk's choice), and the
knowledge figures in the metrics workbook (Flask client; both databases)."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from accounts.models import Role
from returns.cases import OpenCase
from returns.commands import Customer
from returns.rma import Rma, RmaTransition
from returns.status import CaseKind, Channel
from tests.support.knowledge import case
from tests.web.test_api_knowledge import FAN, api  # noqa: F401 (fixture)
from tests.web.test_pages import PASSWORD, sign_in


def enquiry(services: Any) -> str:
    return services.returns.cases.open(
        "desk@test.example",
        OpenCase(
            kind=CaseKind.ENQUIRY,
            customer=Customer(name="Mia Chen", email="mia@example.com"),
            channel=Channel.EMAIL,
            description="The fan rattles for a minute after switching on.",
        ),
    ).number


def state(services: Any, number: str) -> tuple[str, bool, list[str]]:
    with services.session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        reasons = session.scalars(
            select(RmaTransition.reason)
            .where(RmaTransition.rma_id == rma.id, RmaTransition.kind == "status")
            .order_by(RmaTransition.id)
        ).all()
        return rma.status.value, rma.followup_due_at is not None, list(reasons)


def test_solved_without_a_return_closes_the_case_in_the_same_step(api: Any, app: Any) -> None:  # noqa: F811
    services = app.extensions["spareflow"]
    article = api("POST", "/api/v1/knowledge", json=FAN).json
    question, plain, a_return = enquiry(services), enquiry(services), case(services)
    path = f"/api/v1/returns/{question}/solved-without-return"
    assert api("POST", path, json={"close": "yes"}).status_code == 422
    solved = api("POST", path, json={"article_id": article["id"], "close": True})
    assert solved.status_code == 200, solved.json
    status, followup_due, reasons = state(services, question)
    # Resolved and closed, the follow-up call due, all on the timeline.
    assert (status, followup_due) == ("closed", True)
    assert reasons[-2:] == ["Solved without a return", "Solved without a return"]
    # Repeating the step changes nothing and still counts once.
    assert api("POST", path, json={"close": True}).status_code == 200
    assert state(services, question)[2] == reasons
    # Without close (the default) the case stays open; a return not yet sent is cancelled.
    api("POST", f"/api/v1/returns/{plain}/solved-without-return", json={})
    assert state(services, plain)[0] == "open"
    api("POST", f"/api/v1/returns/{a_return}/solved-without-return", json={"close": True})
    assert state(services, a_return)[0] == "cancelled"
    figures = api("GET", "/api/v1/metrics/knowledge", Role.BUYER).json
    # Three cases opened, three solved without a return on the desk: 3 / 3.
    assert (figures["cases_opened"], figures["solved_on_desk"], figures["deflection_rate"]) == (
        3,
        3,
        1.0,
    )
    assert (
        api(
            "POST", "/api/v1/returns/RMA-NOPE/solved-without-return", json={"close": True}
        ).status_code
        == 404
    )


def test_the_metrics_workbook_has_the_knowledge_sheet(api: Any, app: Any) -> None:  # noqa: F811
    services = app.extensions["spareflow"]
    article = api("POST", "/api/v1/knowledge", json=FAN).json
    numbers = [case(services, "FAN-120") for _ in range(3)] + [
        case(services, "PSU-650") for _ in range(3)
    ]
    for number in numbers[:2]:
        api("POST", f"/api/v1/returns/{number}/knowledge", json={"article_id": article["id"]})
    api("POST", f"/api/v1/returns/{numbers[0]}/solved-without-return", json={})
    services.auth.create_user("reader@kb.example", Role.BUYER, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "reader@kb.example", PASSWORD).status_code == 302
    book = openpyxl.load_workbook(io.BytesIO(client.get("/metrics/report.xlsx").data))
    rows = list(book["Knowledge"].iter_rows(min_row=2, values_only=True))
    by_figure: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_figure.setdefault(row[0], []).append(row)
    # Six cases, one solved on the desk: 1 / 6.
    [deflection] = by_figure["deflection"]
    assert deflection[3:] == (1, 6, pytest.approx(1 / 6, abs=1e-4))
    assert by_figure["most_linked"] == [("most_linked", FAN["title"], "en", 2, None, None)]
    # PSU-650 has three defective returns and no article: a gap (FAN-120 has its article).
    [gap] = by_figure["gap"]
    assert (gap[1], gap[3]) == ("PSU-650 Power supply 650 W", 3)
