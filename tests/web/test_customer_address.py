"""The customer's address at intake: the API takes, checks and shows it; the desk form asks
for it laid out for the country, in English and Simplified Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.web.test_api_returns import INTAKE
from tests.web.test_api_returns import desk as desk
from tests.web.test_desk_pages import desk_app as desk_app
from tests.web.test_desk_pages import intake
from tests.web.test_pages import PASSWORD, csrf_token, sign_in

ADDRESS = {
    "name": "Mia Chen",
    "company": "Chen Cooling",
    "street": "1 Long Acre",
    "street2": "Floor 3",
    "city": "London",
    "state": "",
    "postcode": "wc2e 9lh",
    "country": "gb",
    "phone": "+44 20 7946 0000",
}
SHENZHEN = {
    "address_country": "CN",
    "address_state": "广东省",
    "address_city": "深圳市",
    "address_district": "南山区",
    "address_street": "深南大道 9988 号 2 栋",
    "address_street2": "1801 室",
    "address_postcode": "518057",
    "address_company": "",
}


def with_address(**change: Any) -> dict[str, Any]:
    return {**INTAKE, "customer": {**INTAKE["customer"], "address": {**ADDRESS, **change}}}


def test_an_address_is_stored_and_shown_as_given(desk: Any) -> None:
    created = desk("POST", "/api/v1/returns", json=with_address())
    assert created.status_code == 201, created.json
    expected = {**ADDRESS, "country": "GB", "postcode": "WC2E 9LH"}
    assert created.json["customer"]["address"] == expected
    shown = desk("GET", f"/api/v1/returns/{created.json['rma_number']}")
    assert shown.json["customer"]["address"] == expected


def test_the_address_is_optional(desk: Any) -> None:
    created = desk("POST", "/api/v1/returns", json=INTAKE)
    assert created.status_code == 201 and created.json["customer"]["address"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "GBR"}, "country"),
        ({"street": ""}, "street"),
        ({"city": None}, "city"),
        ({"postcode": ""}, "postcode"),
        ({"postcode": "12345"}, "postcode"),
        ({"phone": "ring me"}, "phone"),
        ({"name": "x" * 201}, "name"),
        ({"nickname": "M"}, "nickname"),
    ],
)
def test_each_invalid_field_is_named(desk: Any, change: dict[str, Any], field: str) -> None:
    response = desk("POST", "/api/v1/returns", json=with_address(**change))
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert field in error["details"]["fields"]["customer"]["address"]
    assert f"customer.address.{field}" in error["message"]
    assert desk("GET", "/api/v1/returns").json["items"] == []


def _desk_client(app: Any, language: str = "en") -> Any:
    app.extensions["spareflow"].auth.create_user(
        f"{language}@address.example", Role.SERVICE_DESK, PASSWORD, language=language
    )
    client = app.test_client()
    assert sign_in(client, f"{language}@address.example", PASSWORD).status_code == 302
    return client


def test_the_desk_form_takes_a_chinese_address_in_chinese(desk_app: Any) -> None:
    client = _desk_client(desk_app, "zh_Hans")
    page = client.get("/returns/new").get_data(as_text=True)
    # A Chinese desk starts from a Chinese address: province / city / district / street.
    assert 'data-address-layout="cn"' in page
    assert '<option selected value="CN">中国</option>' in page
    for label in ("省 / 州", "城市", "区 / 县", "街道地址", "邮政编码"):
        assert label in page
    response = client.post("/returns/new", data=intake(csrf_token(page), **SHENZHEN))
    assert response.status_code == 302, response.get_data(as_text=True)
    number = response.headers["Location"].rsplit("/", 1)[1]
    address = desk_app.extensions["spareflow"].returns.get(number).customer_address
    assert (address.state, address.city, address.street, address.street2) == (
        "广东省",
        "深圳市 南山区",
        "深南大道 9988 号 2 栋",
        "1801 室",
    )
    assert (address.name, address.country, address.postcode) == ("Mia Chen", "CN", "518057")
    html = client.get(f"/returns/{number}").get_data(as_text=True)
    assert "中国 518057<br>广东省 深圳市 南山区<br>深南大道 9988 号 2 栋<br>1801 室" in html
    sheet = client.get(f"/returns/{number}/sheet").get_data(as_text=True)
    assert "广东省 深圳市 南山区" in sheet


def test_the_desk_form_names_the_address_field_at_fault(desk_app: Any) -> None:
    client = _desk_client(desk_app)
    page = client.get("/returns/new").get_data(as_text=True)
    assert 'data-address-layout="intl"' in page and "State / province" in page
    bad = {**SHENZHEN, "address_postcode": "51805", "address_street": ""}
    response = client.post("/returns/new", data=intake(csrf_token(page), **bad))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not a postcode of this country." in html and "Required for the address." in html
    assert 'value="广东省"' in html  # what was typed stays, in UTF-8
    orphan = client.post(
        "/returns/new", data=intake(csrf_token(page), address_street="1 Long Acre")
    )
    assert "Choose the country of the address." in orphan.get_data(as_text=True)


def test_the_desk_form_takes_an_address_abroad_in_english(desk_app: Any) -> None:
    client = _desk_client(desk_app)
    page = client.get("/returns/new").get_data(as_text=True)
    london = {
        "address_country": "GB",
        "address_street": "1 Long Acre",
        "address_city": "London",
        "address_postcode": "WC2E 9LH",
        "address_company": "Chen Cooling",
    }
    response = client.post("/returns/new", data=intake(csrf_token(page), **london))
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mia Chen<br>Chen Cooling<br>1 Long Acre<br>London WC2E 9LH<br>United Kingdom" in html
