"""The buyer's pages: roles checked on the server, CSRF on every form, uploads that explain."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from tests.support.purchasing_scenarios import build_scenario, edit_workbook, row_of
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def buyer(app: Any) -> Any:
    services = app.extensions["spareflow"]
    build_scenario(services.inventory)
    for role in Role:
        services.auth.create_user(f"{role.value}@pages.example", role, PASSWORD)
    client = app.test_client()
    sign_in(client, "buyer@pages.example", PASSWORD)
    return client


def signed_in(app: Any, role: Role) -> Any:
    client = app.test_client()
    sign_in(client, f"{role.value}@pages.example", PASSWORD)
    return client


def upload(client: Any, path: str, data: bytes, token: str | None) -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), "edited.xlsx")}
    if token is not None:
        form["csrf_token"] = token
    return client.post(path, data=form, content_type="multipart/form-data")


def test_the_buyer_pages_are_for_buyers_and_admins_only(app: Any, buyer: Any) -> None:
    assert app.test_client().get("/buying/").status_code == 302  # to the sign-in page
    for role in (Role.WAREHOUSE, Role.SERVICE_DESK):
        client = signed_in(app, role)
        for path in ("/buying/", "/buying/reorder.xlsx", "/buying/purchase-orders"):
            response = client.get(path)
            assert response.status_code == 403, (role, path)
            assert "buyer" in response.get_data(as_text=True)
        token = csrf_token(client.get("/").get_data(as_text=True))
        assert (
            client.post("/buying/reorder/recompute", data={"csrf_token": token}).status_code == 403
        )
        assert "Reorder</a>" not in client.get("/").get_data(as_text=True)
    assert signed_in(app, Role.ADMIN).get("/buying/").status_code == 200
    assert "Reorder</a>" in buyer.get("/").get_data(as_text=True)


def test_the_reorder_page_shows_the_suggestions_and_filters_them(buyer: Any) -> None:
    html = buyer.get("/buying/").get_data(as_text=True)
    table = html[html.index('id="suggestions"') :]
    assert all(sku in table for sku in ("FAN-80", "PSU-65", "CAB-1", "LOOSE-1"))
    assert "OK-1" not in table
    assert "available 3 = 8 on hand in storage/receiving - 5 reserved" in table
    short = buyer.get("/buying/?urgency=short&supplier=ACME").get_data(as_text=True)
    short_table = short[short.index('id="suggestions"') :]
    assert "PSU-65" in short_table and "FAN-80" not in short_table
    assert 'href="/buying/reorder.xlsx?supplier=ACME&amp;urgency=short"' in short


def test_the_download_button_gives_the_filtered_workbook(buyer: Any) -> None:
    with buyer.get("/buying/reorder.xlsx?supplier=BOLT") as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=reorder-2026-11-23.xlsx"
        )
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Summary", "BOLT", "spareflow"]


def reorder_workbook(client: Any) -> bytes:
    with client.get("/buying/reorder.xlsx") as response:
        return response.get_data()


def test_an_upload_lists_each_problem_and_creates_nothing(buyer: Any) -> None:
    def break_it(book: Any) -> None:
        book["ACME"].cell(row_of(book["ACME"], "PSU-65"), 13).value = 2.5
        book["BOLT"].cell(row_of(book["BOLT"], "CAB-1"), 4).value = "ACME"

    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    response = upload(
        buyer, "/buying/reorder/import", edit_workbook(reorder_workbook(buyer), break_it), token
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td>\s*<td>([^<]*)</td>", html)
    assert rows == [("ACME", "3", "M · Order qty"), ("BOLT", "2", "D · Supplier")]
    assert "2.5 is not a whole number." in html and "Nothing was saved" in html
    orders = buyer.get("/buying/purchase-orders").get_data(as_text=True)
    assert "No purchase orders yet." in orders  # and where they come from:
    assert 'id="empty-next"' in orders and "/buying/" in orders


def test_an_upload_needs_the_csrf_token_and_a_file(buyer: Any) -> None:
    data = reorder_workbook(buyer)
    assert upload(buyer, "/buying/reorder/import", data, None).status_code == 400
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    empty = buyer.post("/buying/reorder/import", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "Choose the .xlsx file to upload." in empty.get_data(as_text=True)


def test_a_good_upload_shows_the_draft_orders_which_can_then_be_sent(buyer: Any) -> None:
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    response = upload(buyer, "/buying/reorder/import", reorder_workbook(buyer), token)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Draft purchase orders created" in html
    assert "PO-2026-00001" in html and "PO-2026-00002" in html

    listing = buyer.get("/buying/purchase-orders?status=draft&supplier=BOLT").get_data(as_text=True)
    assert "PO-2026-00002" in listing and "PO-2026-00001" not in listing
    detail = buyer.get("/buying/purchase-orders/PO-2026-00001").get_data(as_text=True)
    assert re.search(r'id="status">draft<', detail)
    assert "FAN-80" in detail and "PSU-65" in detail
    assert buyer.post("/buying/purchase-orders/PO-2026-00001/send").status_code == 400  # no CSRF
    sent = buyer.post(
        "/buying/purchase-orders/PO-2026-00001/send",
        data={"csrf_token": csrf_token(detail), "reason": "mailed to Acme"},
        follow_redirects=True,
    )
    html = sent.get_data(as_text=True)
    assert "PO-2026-00001 is now sent." in html and "mailed to Acme" in html
    again = buyer.post(
        "/buying/purchase-orders/PO-2026-00001/send",
        data={"csrf_token": csrf_token(html)},
        follow_redirects=True,
    )
    assert "it cannot become sent" in again.get_data(as_text=True)
    assert buyer.get("/buying/purchase-orders/PO-1999-00001").status_code == 404


def test_the_recompute_button_recomputes_and_says_what_it_found(buyer: Any) -> None:
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    assert buyer.post("/buying/reorder/recompute").status_code == 400  # no CSRF token
    response = buyer.post(
        "/buying/reorder/recompute", data={"csrf_token": token}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "Recomputed suggested reorder points of 5 parts from 90 days of demand" in html
    assert "4 parts at or below their point (4 new)" in html


def test_the_catalogue_can_be_downloaded_and_uploaded_from_the_buyer_page(buyer: Any) -> None:
    with buyer.get("/buying/catalogue.xlsx") as response:
        data = response.get_data()

    def rename(book: Any) -> None:
        book["Parts"].cell(row_of(book["Parts"], "OK-1"), 2).value = "Plenty of these"

    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    response = upload(buyer, "/buying/catalogue/import", edit_workbook(data, rename), token)
    assert response.status_code == 200
    assert "0 parts created, 1 updated, 4 unchanged." in response.get_data(as_text=True)
