"""The fill-rate plan on the part page, the reorder page (figures, trade-off chart, targets
form), the reorder workbook and the API, on both databases."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from core.clock import FrozenClock
from tests.support.planning_ledger import seed_plan_ledger
from tests.support.purchasing_scenarios import row_of
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def planned(app: Any, clock: FrozenClock) -> Any:
    services = app.extensions["spareflow"]
    seed_plan_ledger(services.inventory, clock)
    for sku in ("BUSY-1", "SLOW-1", "LATE-1", "LUMPY-1"):  # every part on the reorder page
        services.inventory.update_part(sku, {"reorder_point": 500})
    services.buying.reorder.set_target("buyer", "class", "smooth", Decimal("0.99"))
    services.buying.reorder.recompute()
    for role in Role:
        services.auth.create_user(f"{role.value}@plan.example", role, PASSWORD)
    return services


def client_for(app: Any, role: Role) -> Any:
    client = app.test_client()
    sign_in(client, f"{role.value}@plan.example", PASSWORD)
    return client


def test_the_part_page_shows_the_plan(app: Any, planned: Any) -> None:
    html = client_for(app, Role.WAREHOUSE).get("/parts/BUSY-1").get_data(as_text=True)
    plan = html[html.index('id="plan"') :]
    assert '<dd id="plan-class">smooth (ADI 1.00, CV² 0.00)</dd>' in plan
    assert '<dd id="plan-forecast">2.00 (ses)</dd>' in plan
    assert '<dd id="plan-target">99.0 %</dd>' in plan
    assert '<dd id="plan-level">6</dd>' in plan  # Poisson(2), 0.99 (tests/integration)
    assert '<dd id="plan-fill">99.7 %</dd>' in plan
    assert '<dd id="plan-value">6.01</dd>' in plan  # (6 - 2 + 0.0058) x 1.50


def test_the_reorder_page_shows_the_plan_the_trade_off_and_the_targets(
    app: Any, planned: Any
) -> None:
    html = client_for(app, Role.BUYER).get("/buying/").get_data(as_text=True)
    chart = html[html.index('id="tradeoff-chart"') : html.index("</svg>")]
    assert "<title>Fill rate against stock value, targets 80 to 99 %</title>" in chart
    assert ">Expected fill rate</text>" in chart and ">Stock value</text>" in chart
    assert chart.count("<circle") == 20
    assert "target 95%: Expected fill rate" in chart
    table = html[html.index('id="suggestions"') :]
    row = table[table.index("BUSY-1") : table.index("</tr>", table.index("BUSY-1"))]
    for cell in ('plan-class">smooth', ">2.00<", ">99.0 %<", ">99.7 %<", ">6.01<"):
        assert cell in row, cell
    targets = html[html.index('id="targets"') : html.index("</table>", html.index('id="targets"'))]
    assert "smooth" in targets and "99.0 %" in targets and "95.0 %" in targets  # + the setting


def test_the_buyer_sets_targets_on_the_reorder_page(app: Any, planned: Any) -> None:
    buyer = client_for(app, Role.BUYER)
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    saved = buyer.post(
        "/buying/planning/targets",
        data={"csrf_token": token, "scope": "category", "key": "Power", "fill_rate": "97.5"},
        follow_redirects=True,
    )
    assert "Target saved" in saved.get_data(as_text=True)
    assert ("category", "Power", Decimal("0.975")) in {
        (t.scope, t.key, t.fill_rate) for t in planned.buying.reorder.targets()
    }
    wrong = buyer.post(
        "/buying/planning/targets",
        data={"csrf_token": token, "scope": "class", "key": "wobbly", "fill_rate": "90"},
        follow_redirects=True,
    )
    assert "A demand class is one of smooth, erratic, intermittent, lumpy" in wrong.get_data(
        as_text=True
    )
    too_high = buyer.post(
        "/buying/planning/targets",
        data={"csrf_token": token, "scope": "default", "key": "", "fill_rate": "100"},
        follow_redirects=True,
    )
    assert "Target fill rate (%)" in too_high.get_data(as_text=True)
    buyer.post(
        "/buying/planning/targets",
        data={"csrf_token": token, "scope": "category", "key": "Power", "remove": "1"},
    )
    assert ("category", "Power") not in {(t.scope, t.key) for t in planned.buying.reorder.targets()}
    desk = client_for(app, Role.SERVICE_DESK)
    desk_token = csrf_token(desk.get("/").get_data(as_text=True))
    refused = desk.post(
        "/buying/planning/targets",
        data={"csrf_token": desk_token, "scope": "default", "fill_rate": "90"},
    )
    assert refused.status_code == 403
    assert buyer.post("/buying/planning/targets", data={"scope": "default"}).status_code == 400


def test_the_reorder_workbook_has_the_plan_columns(app: Any, planned: Any) -> None:
    data = client_for(app, Role.BUYER).get("/buying/reorder.xlsx").get_data()
    sheet = openpyxl.load_workbook(io.BytesIO(data))["ACME"]
    headers = [cell.value for cell in sheet[1]]
    columns = ["Demand class", "Forecast / month", "Target fill rate", "Expected fill rate",
               "Planned level", "Plan stock value"]  # fmt: skip
    assert all(name in headers for name in columns)
    row = row_of(sheet, "BUSY-1")
    values = {name: sheet.cell(row=row, column=headers.index(name) + 1).value for name in columns}
    assert values["Demand class"] == "smooth"
    assert values["Planned level"] == 6
    assert float(values["Forecast / month"]) == 2.0
    assert float(values["Target fill rate"]) == 0.99
    assert abs(float(values["Expected fill rate"]) - 0.9971) < 0.0001
    assert abs(float(values["Plan stock value"]) - 6.01) < 0.001


def test_the_planning_api_validates_and_sets_targets(
    app: Any, planned: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    client = app.test_client()

    def call(method: str, path: str, role: Role = Role.BUYER, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    listed = call("GET", "/api/v1/planning/targets").json
    assert listed["targets"] == [
        {"scope": "class", "key": "smooth", "fill_rate": "0.9900", "updated_by": "buyer"}
    ]
    assert listed["setting_default"] == "0.9500"
    put = call("PUT", "/api/v1/planning/targets",
               json={"scope": "category", "key": "Power", "fill_rate": "0.98"})  # fmt: skip
    assert put.status_code == 200
    assert {"scope": "category", "key": "Power", "fill_rate": "0.9800",
            "updated_by": "buyer@test.example"} in put.json["targets"]  # fmt: skip
    for body, field in (
        ({"scope": "class", "key": "wobbly", "fill_rate": "0.9"}, "key"),
        ({"scope": "default", "fill_rate": "1.5"}, "fill_rate"),
        ({"scope": "default", "fill_rate": "0.2"}, "fill_rate"),
        ({"scope": "planet", "fill_rate": "0.9"}, "scope"),
        ({"scope": "default", "key": "x", "fill_rate": "0.9"}, "key"),
        ({"scope": "category", "fill_rate": "0.9"}, "key"),
        ({"scope": "default"}, "fill_rate"),
        ({"scope": "default", "fill_rate": "0.9", "colour": "red"}, "colour"),
    ):
        bad = call("PUT", "/api/v1/planning/targets", json=body)
        assert bad.status_code == 422, body
        assert field in bad.json["error"]["details"]["fields"], (body, bad.json)
    removed = call("PUT", "/api/v1/planning/targets",
                   json={"scope": "category", "key": "Power", "fill_rate": None})  # fmt: skip
    assert all(t["key"] != "Power" for t in removed.json["targets"])
    assert call("GET", "/api/v1/planning/targets", Role.SERVICE_DESK).status_code == 403
    assert call("GET", "/api/v1/planning/targets", Role.ADMIN).status_code == 200
    points = call("GET", "/api/v1/planning/tradeoff").json["points"]
    assert [p["target"] for p in points] == [f"0.{t}00" for t in range(80, 100)]
    policy = call("PATCH", "/api/v1/reorder/policies/BUSY-1",
                  json={"fill_rate_target": "0.97", "method": "planned"})  # fmt: skip
    assert policy.status_code == 200
    assert (policy.json["fill_rate_target"], policy.json["method"]) == ("0.9700", "planned")
    assert policy.json["plan"]["demand_class"] == "smooth"
    assert policy.json["plan"]["planned_level"] == 6
    bad = call("PATCH", "/api/v1/reorder/policies/BUSY-1", json={"fill_rate_target": "1.2"})
    assert (bad.status_code, list(bad.json["error"]["details"]["fields"])) == (
        422,
        ["fill_rate_target"],
    )
