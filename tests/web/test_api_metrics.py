"""GET /api/v1/metrics: the figures of tests/support/metrics_history.py through the API.

The numbers are the ones worked out by hand in tests/integration/test_metrics.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.support.metrics_history import FROM, NOW, TO, build_history


@pytest.fixture
def history(app: Any, clock: Any) -> dict[str, str]:
    numbers = build_history(app.extensions["spareflow"].session_factory, clock)
    clock.set(NOW)
    return numbers


def get(client: Any, headers: dict[str, str], query: str = "") -> Any:
    return client.get(f"/api/v1/metrics{query}", headers=headers)


def test_the_desk_reads_the_figures_of_a_period(
    client: Any, role_headers: dict[Role, dict[str, str]], history: dict[str, str]
) -> None:
    response = get(client, role_headers[Role.SERVICE_DESK], f"?from={FROM}&to={TO}")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["period"] == {
        "from": FROM,
        "to": TO,
        "start": "2026-11-02T00:00:00+00:00",
        "end": "2026-11-23T00:00:00+00:00",
    }
    overall = body["overall"]
    # Refunds 1.0 1.5 2.0 3.0 5.0 6.0 days: mean 18.5 / 6, median 2.5, p90 5.5.
    assert overall["refund_time"]["count"] == 6
    assert overall["refund_time"]["mean_days"] == pytest.approx(18.5 / 6)
    assert overall["refund_time"]["median_days"] == pytest.approx(2.5)
    assert overall["refund_time"]["p90_days"] == pytest.approx(5.5)
    assert overall["self_completion"] == {"part": 5, "whole": 6, "rate": pytest.approx(5 / 6)}
    assert overall["disputes"] == {"part": 1, "whole": 8, "rate": 0.125}
    assert overall["response_on_target"]["part"] == 4
    assert overall["response_within_24h"]["whole"] == 7
    assert (overall["response_breaches"], overall["resolution_breaches"]) == (3, 2)
    assert overall["satisfaction"]["mean"] == 3.25
    assert body["rolling_28_days"]["self_completion"] == {
        "part": 5,
        "whole": 7,
        "rate": pytest.approx(5 / 7),
    }
    assert [w["week_start"] for w in body["weekly"]] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert {g["key"] for g in body["by_priority"]} == {"urgent", "high", "medium", "low"}
    assert {g["key"] for g in body["by_supplier"]} == {"ACME", "BOLT"}
    assert [p["key"] for p in body["return_rates"]["parts"]] == ["PSU-65", "FAN-80", "CAB-1"]
    assert body["return_rates"]["parts"][0]["top_reasons"][0] == {
        "reason": "no_longer_needed",
        "units": 3,
    }
    assert body["return_rates"]["parts"][2]["rate"] is None
    what_if = body["what_if"]
    # Had refunds waited for the warehouse: 5 6 7 9 9 days, mean 7.2; one parcel not back.
    assert what_if["hypothetical"]["mean_days"] == pytest.approx(7.2)
    assert what_if["actual_arrived"]["mean_days"] == pytest.approx(3.1)
    assert (what_if["arrived"], what_if["not_arrived"]) == (5, 1)
    labels = [b["label"] for b in body["refund_time_histogram"]]
    assert labels[0] == "0-1 d" and labels[-1] == "≥15 d"


def test_include_weekly_answers_the_same_summary_and_weeks_and_nothing_else(
    client: Any, role_headers: dict[Role, dict[str, str]], history: dict[str, str]
) -> None:
    headers = role_headers[Role.SERVICE_DESK]
    full = get(client, headers, f"?from={FROM}&to={TO}").json
    response = get(client, headers, f"?from={FROM}&to={TO}&include=weekly")
    assert response.status_code == 200, response.json
    summary = response.json
    assert set(summary) == {
        "period", "generated_at", "overall", "rolling_28_days", "weekly"
    }  # fmt: skip
    for key in ("period", "overall", "rolling_28_days", "weekly"):
        assert summary[key] == full[key], key
    assert summary["overall"]["refund_time"]["median_days"] == pytest.approx(2.5)


def test_include_picks_any_sections_and_refuses_an_unknown_one(
    client: Any, role_headers: dict[Role, dict[str, str]], history: dict[str, str]
) -> None:
    headers = role_headers[Role.SERVICE_DESK]
    full = get(client, headers, f"?from={FROM}&to={TO}").json
    body = get(client, headers, f"?from={FROM}&to={TO}&include=breakdowns,what_if").json
    assert "weekly" not in body and "return_rates" not in body and "desk_people" not in body
    for key in ("by_priority", "by_part", "by_supplier", "what_if", "refund_time_histogram"):
        assert body[key] == full[key], key
    response = get(client, headers, f"?from={FROM}&to={TO}&include=weekly,everything")
    assert response.status_code == 422, response.json
    assert "include" in response.json["error"]["details"]["fields"]


def test_buyers_and_admins_read_the_figures_too_warehouse_does_not(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    for role in (Role.BUYER, Role.ADMIN):
        assert get(client, role_headers[role]).status_code == 200
    assert get(client, role_headers[Role.WAREHOUSE]).status_code == 403


def test_without_dates_the_period_is_the_last_28_days_today_included(
    client: Any, role_headers: dict[Role, dict[str, str]], history: dict[str, str]
) -> None:
    body = get(client, role_headers[Role.BUYER]).json
    # Today is 2026-11-23; 28 days back to 2026-10-27.
    assert (body["period"]["from"], body["period"]["to"]) == ("2026-10-27", "2026-11-23")
    only_to = get(client, role_headers[Role.BUYER], "?to=2026-11-10").json
    assert (only_to["period"]["from"], only_to["period"]["to"]) == ("2026-10-14", "2026-11-10")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2026-13-01&to=2026-11-22", "from"),
        ("?from=yesterday", "from"),
        ("?from=2026-11-22&to=2026-11-02", "to"),
        ("?from=2025-01-01&to=2026-01-02", "to"),  # 367 days
    ],
)
def test_a_bad_period_is_refused_with_422_naming_the_field(
    client: Any, role_headers: dict[Role, dict[str, str]], query: str, field: str
) -> None:
    response = get(client, role_headers[Role.SERVICE_DESK], query)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["details"]["fields"]


def test_a_from_after_today_without_to_is_refused(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    # to defaults to today (2026-11-23), which is before from.
    response = get(client, role_headers[Role.SERVICE_DESK], "?from=2026-12-01")
    assert response.status_code == 422
    assert response.json["error"]["details"]["field"] == "to"


def test_the_metrics_endpoint_is_documented_with_its_response_schema(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/metrics"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "include"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"overall", "rolling_28_days", "weekly", "what_if", "return_rates"} <= set(
        schema["properties"]
    )
