"""The address rules (core/addresses.py) and the intake command's address, without a database."""

from __future__ import annotations

import pytest
from babel import Locale

from core.addresses import COUNTRIES, address_problems
from core.errors import InvalidInput
from returns.commands import Customer, CustomerAddress
from returns.intake import check_address

SHENZHEN = CustomerAddress(
    name="陈美",
    street="科技园南区 深南大道 9988 号 2 栋 1801 室",
    city="深圳市 南山区",
    state="广东省",
    postcode="518057",
    country="CN",
    phone="+86 138 0013 8000",
)
LONDON = CustomerAddress(
    name="Mia Chen", street="1 Long Acre", city="London", postcode="wc2e 9lh", country="GB"
)
#: CLDR territories that are no ISO 3166-1 alpha-2 country (regions, groupings, test codes).
NOT_ISO = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}


def test_the_country_table_is_iso_3166_1_as_cldr_knows_it() -> None:
    cldr = {code for code in Locale("en").territories if len(code) == 2 and code.isalpha()}
    assert len(COUNTRIES) == 249
    assert cldr - NOT_ISO == COUNTRIES


def test_complete_addresses_pass() -> None:
    assert address_problems(SHENZHEN.as_mapping()) == {}
    assert address_problems(LONDON.as_mapping()) == {}
    hong_kong = {"name": "Lee", "street": "1 Queen's Rd", "city": "Central", "country": "HK"}
    assert address_problems(hong_kong) == {}  # Hong Kong has no postcodes


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"country": "XX"}, "country", "unknown_country"),
        ({"country": "EU"}, "country", "unknown_country"),
        ({"country": ""}, "country", "required"),
        ({"street": "  "}, "street", "required"),
        ({"city": ""}, "city", "required"),
        ({"name": ""}, "name", "required"),
        ({"postcode": ""}, "postcode", "postcode_required"),
        ({"postcode": "51805"}, "postcode", "bad_postcode"),
        ({"postcode": "ABCDEF"}, "postcode", "bad_postcode"),
        ({"phone": "call me"}, "phone", "bad_phone"),
        ({"phone": "12345"}, "phone", "bad_phone"),
        ({"phone": "+1 234 567 890 123 456"}, "phone", "bad_phone"),
        ({"street": "x" * 201}, "street", "too_long"),
    ],
)
def test_each_broken_rule_names_its_field(change: dict[str, str], field: str, code: str) -> None:
    assert address_problems({**SHENZHEN.as_mapping(), **change}) == {field: code}


def test_postcodes_elsewhere_need_only_a_plausible_shape() -> None:
    assert address_problems({**LONDON.as_mapping(), "country": "BR", "postcode": "01310-100"}) == {}
    assert address_problems({**LONDON.as_mapping(), "country": "BR", "postcode": "0"}) == {
        "postcode": "bad_postcode"
    }


def test_the_intake_command_takes_an_address_or_none() -> None:
    assert Customer(name="Mia", email="mia@example.com").address is None
    check_address(SHENZHEN)  # complete: nothing to say
    with pytest.raises(InvalidInput) as refused:
        check_address(CustomerAddress(name="Mia", street="", city="London", country="GB"))
    assert refused.value.field == "customer.address.street"
    with pytest.raises(InvalidInput) as refused:
        check_address(CustomerAddress(name="Mia", street="1 Long Acre", city="x", country="UK"))
    assert (refused.value.field, refused.value.code) == (
        "customer.address.country",
        "unknown_country",
    )
