"""The returns portal page with the Flask client: the three steps, photos stored clean and
shown to the desk only, refusals shown on the page (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from accounts.models import Role
from tests.support.portal import PORTAL_CONFIG, place_order, recent, stock_shop
from tests.unit.test_portal_photos import jpeg_with_gps
from tests.web.test_pages import csrf_token, sign_in


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(PORTAL_CONFIG)


@pytest.fixture
def shop(app: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    stock_shop(services)
    place_order(services, "#3001", recent(clock))
    return services


def proof(client: Any, **extra: str) -> dict[str, Any]:
    token = csrf_token(client.get("/returns-portal").get_data(as_text=True))
    return {"csrf_token": token, "order_number": "#3001", "email": "mia@EXAMPLE.com", **extra}


def test_the_customer_goes_from_the_order_to_the_authorised_return_with_a_clean_photo(
    client: Any, shop: Any, role_headers: dict[Role, dict[str, str]], app: Any
) -> None:
    form = proof(client)
    step2 = client.post("/returns-portal/order", data=form).get_data(as_text=True)
    assert "Cooling fan 80mm" in step2 and 'name="qty-0"' in step2
    assert '<option value="2">2</option>' in step2 and '<option value="3">' not in step2
    done = client.post(
        "/returns-portal/return",
        data={
            **form,
            "qty-0": "1",
            "reason-0": "defective",
            "description-0": "Rattles at full speed",
            "qty-1": "0",
            "reason-1": "no_longer_needed",
            "resolution": "refund",
            "photos": (io.BytesIO(jpeg_with_gps()), "fan.jpg"),
        },
        content_type="multipart/form-data",
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    assert 'id="decision"' in page and "is authorised" in page
    assert 'id="label"' in page and 'id="return-address"' in page and "<svg" in page
    number = page.split("Your return ", 1)[1].split(" ", 1)[0]
    rma = shop.rma_queries.get(number)
    assert rma.channel.value == "portal" and "Rattles at full speed" in rma.description
    photos = shop.attachments.of(number)
    assert [(p.filename, p.media_type) for p in photos] == [("fan.jpg", "image/jpeg")]
    # The desk sees the photo; it is served to staff only, without its GPS metadata.
    desk = app.test_client()
    app.extensions["spareflow"].auth.create_user(
        "desk@portal.example", Role.SERVICE_DESK, "pw-correct-horse-9"
    )
    assert sign_in(desk, "desk@portal.example", "pw-correct-horse-9").status_code == 302
    assert "fan.jpg" in desk.get(f"/returns/{number}").get_data(as_text=True)
    served = desk.get(f"/returns/{number}/photos/{photos[0].id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"SpyCam" not in served.data
    anonymous = app.test_client().get(f"/returns/{number}/photos/{photos[0].id}")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


def test_a_non_image_named_jpg_is_refused_on_the_page_and_nothing_is_opened(
    client: Any, shop: Any
) -> None:
    form = proof(client)
    refused = client.post(
        "/returns-portal/return",
        data={
            **form,
            "qty-0": "1",
            "reason-0": "defective",
            "resolution": "refund",
            "photos": (io.BytesIO(b"MZ\x90\x00 an executable"), "photo.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Send photos as JPEG or PNG." in refused.get_data(as_text=True)
    lookup = client.post(
        "/api/v1/public/orders/lookup", json={"order_number": "#3001", "email": "mia@example.com"}
    )
    lines = lookup.get_json()["lines"]
    assert all(line["returnable_qty"] == line["ordered_qty"] for line in lines)  # none opened


def test_a_wrong_email_on_the_page_says_only_that_no_order_matches(client: Any, shop: Any) -> None:
    wrong = client.post("/returns-portal/order", data=proof(client, email="eve@example.com"))
    missing = client.post("/returns-portal/order", data=proof(client, order_number="#0000"))
    assert wrong.status_code == missing.status_code == 404
    assert "We found no order with that number" in wrong.get_data(as_text=True)


def test_the_page_needs_its_csrf_token(client: Any, shop: Any) -> None:
    form = proof(client)
    del form["csrf_token"]
    assert client.post("/returns-portal/order", data=form).status_code == 400


def test_the_page_speaks_chinese_from_the_browser_or_the_switcher(client: Any, shop: Any) -> None:
    by_header = client.get("/returns-portal", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'lang="zh-Hans"' in by_header.get_data(as_text=True)
    switched = client.get("/returns-portal?lang=zh_Hans", headers={"Accept-Language": "en"})
    assert 'lang="zh-Hans"' in switched.get_data(as_text=True)
    english = client.get("/returns-portal?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_lines_outside_window_and_warranty_are_greyed_with_why(
    client: Any, shop: Any, clock: Any
) -> None:
    from datetime import timedelta

    place_order(shop, "#3002", recent(clock) - timedelta(days=400))
    page = client.post("/returns-portal/order", data=proof(client, order_number="#3002"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("portal-line unavailable") == 2
    assert "warranty ended" in html and 'name="qty-0"' not in html


def test_the_switcher_on_the_second_step_keeps_the_order_on_screen(client: Any, shop: Any) -> None:
    form = proof(client)
    step2 = client.post("/returns-portal/order", data=form).get_data(as_text=True)
    assert 'name="lang" value="zh_Hans"' in step2  # the switcher's form for Chinese
    chinese = client.post("/returns-portal/order", data={**form, "lang": "zh_Hans"})
    html = chinese.get_data(as_text=True)
    assert 'lang="zh-Hans"' in html and 'name="qty-0"' in html
