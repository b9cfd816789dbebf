"""The desk corrects a customer's address: ``PATCH /api/v1/returns/{rma}/customer-address`` and
the edit form on the RMA page (en, zh-Hans; a Chinese address laid out province / city /
district / street); and a prepaid label from a provider that needs the address is refused
with ``409 customer_address_required``, which the RMA page explains."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.web.test_api_returns import INTAKE
from tests.web.test_api_returns import desk as desk
from tests.web.test_customer_address import SHENZHEN, _desk_client, with_address
from tests.web.test_desk_pages import desk_app as desk_app
from tests.web.test_desk_pages import intake
from tests.web.test_pages import csrf_token

SHENZHEN_API = {
    "name": "陈美",
    "street": "深南大道 9988 号 2 栋",
    "street2": "1801 室",
    "city": "深圳市 南山区",
    "state": "广东省",
    "postcode": "518057",
    "country": "CN",
    "phone": "+86 755 8888 0000",
}


@pytest.fixture
def easypost_returns(app: Any) -> Any:
    """Prepaid labels from EasyPost: a provider that needs the customer's address."""
    ctx = app.extensions["spareflow"].returns.ctx
    ctx.default_return_carrier = "easypost"
    return ctx


def test_the_desk_changes_the_address_by_the_intake_rules(desk: Any) -> None:
    number = desk("POST", "/api/v1/returns", json=INTAKE).json["rma_number"]
    path = f"/api/v1/returns/{number}/customer-address"
    changed = desk("PATCH", path, json={"address": SHENZHEN_API, "reason": "Moved"})
    assert changed.status_code == 200, changed.json
    assert changed.json["customer"]["address"] == {**SHENZHEN_API, "company": ""}
    note = changed.json["timeline"][-1]
    assert note["reason"].startswith("Customer address changed (name, street, street2, city")
    assert note["reason"].endswith(": Moved")
    audit = desk("GET", "/api/v1/audit?action=rma.", role=Role.ADMIN).json["items"]
    assert [(e["action"], e["target"], e["actor"]) for e in audit] == [
        ("rma.customer_address_changed", number, "service_desk@test.example")
    ]
    bad = desk("PATCH", path, json={"address": {**SHENZHEN_API, "postcode": "51805"}})
    assert bad.status_code == 422
    assert "postcode" in bad.json["error"]["details"]["fields"]["address"]
    missing = desk("PATCH", path, json={"reason": "no address"})
    assert missing.status_code == 422 and "address" in missing.json["error"]["details"]["fields"]
    shown = desk("GET", f"/api/v1/returns/{number}").json["customer"]["address"]
    assert shown["postcode"] == "518057"
    refused = desk("PATCH", path, role=Role.WAREHOUSE, json={"address": SHENZHEN_API})
    assert refused.status_code == 403


def test_an_ended_rma_keeps_its_address(desk: Any) -> None:
    number = desk("POST", "/api/v1/returns", json=with_address()).json["rma_number"]
    desk("POST", f"/api/v1/returns/{number}/cancel", json={"reason": "Changed their mind"})
    path = f"/api/v1/returns/{number}/customer-address"
    response = desk("PATCH", path, json={"address": SHENZHEN_API})
    assert response.status_code == 409 and response.json["error"]["code"] == "rma_ended"


def test_a_label_without_an_address_answers_409_naming_the_fields(
    desk: Any, easypost_returns: Any
) -> None:
    number = desk("POST", "/api/v1/returns", json=INTAKE).json["rma_number"]
    response = desk("POST", f"/api/v1/returns/{number}/authorise", json={})
    assert response.status_code == 409, response.json
    error = response.json["error"]
    assert error["code"] == "customer_address_required"
    assert error["details"]["missing"] == ["name", "street", "city", "country"]
    assert error["details"]["provider"] == "easypost"
    assert "Complete the customer's address" in error["message"]
    assert desk("GET", f"/api/v1/returns/{number}").json["status"] == "requested"


def test_the_rma_page_says_what_is_missing_and_the_form_fixes_it(
    desk_app: Any, easypost_returns: Any
) -> None:
    client = _desk_client(desk_app)
    page = client.get("/returns/new").get_data(as_text=True)
    created = client.post("/returns/new", data=intake(csrf_token(page)))
    number = created.headers["Location"].rsplit("/", 1)[1]
    html = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="customer-address-required"' in html
    assert "A prepaid easypost label needs the customer's complete address" in html
    assert f'href="/returns/{number}/customer-address"' in html
    authorised = client.post(
        f"/returns/{number}/authorise", data={"csrf_token": csrf_token(html), "carrier": ""}
    )
    flashed = client.get(authorised.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in flashed and "Street address, City, Country" in flashed

    form = client.get(f"/returns/{number}/customer-address").get_data(as_text=True)
    assert 'value="Mia Chen"' in form  # the customer's name to start from
    london = {
        "csrf_token": csrf_token(form),
        "address_name": "Mia Chen",
        "address_phone": "+44 20 7946 0000",
        "address_country": "GB",
        "address_street": "1 Long Acre",
        "address_city": "London",
        "address_postcode": "WC2E 9LH",
        "reason": "Phoned",
    }
    bad = client.post(
        f"/returns/{number}/customer-address", data={**london, "address_postcode": "12345"}
    )
    assert bad.status_code == 422
    assert "Not a postcode of this country." in bad.get_data(as_text=True)
    saved = client.post(f"/returns/{number}/customer-address", data=london)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    html = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Mia Chen<br>1 Long Acre<br>London WC2E 9LH<br>United Kingdom" in html
    assert 'id="customer-address-required"' not in html
    assert "Customer address changed (name, street, city, postcode, country, phone): Phoned" in html


def test_the_form_edits_a_chinese_address_in_chinese(desk_app: Any) -> None:
    client = _desk_client(desk_app, "zh_Hans")
    page = client.get("/returns/new").get_data(as_text=True)
    created = client.post("/returns/new", data=intake(csrf_token(page), **SHENZHEN))
    number = created.headers["Location"].rsplit("/", 1)[1]
    form = client.get(f"/returns/{number}/customer-address").get_data(as_text=True)
    assert 'data-address-layout="cn"' in form
    for label in ("省 / 州", "城市", "区 / 县", "街道地址", "邮政编码"):
        assert label in form
    # The stored "深圳市 南山区" is split back into city and district.
    assert 'value="深圳市"' in form and 'value="南山区"' in form
    moved = {
        "csrf_token": csrf_token(form),
        "address_name": "Mia Chen",
        "address_phone": "",
        **{k: v for k, v in SHENZHEN.items()},
        "address_district": "福田区",
        "address_postcode": "518048",
    }
    saved = client.post(f"/returns/{number}/customer-address", data=moved)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    address = desk_app.extensions["spareflow"].returns.get(number).customer_address
    assert (address.city, address.postcode) == ("深圳市 福田区", "518048")


def test_the_edit_link_is_gone_once_the_rma_ended(desk_app: Any) -> None:
    client = _desk_client(desk_app)
    page = client.get("/returns/new").get_data(as_text=True)
    created = client.post("/returns/new", data=intake(csrf_token(page), **SHENZHEN))
    number = created.headers["Location"].rsplit("/", 1)[1]
    html = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="edit-customer-address"' in html
    desk_app.extensions["spareflow"].returns.authorisation.cancel("desk", number, "Not needed")
    html = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="edit-customer-address"' not in html and SHENZHEN["address_street"] in html
