"""The label rules every provider shares: which rate is bought, what an address needs."""

from __future__ import annotations

import pytest

from carriers.labels import Address, LabelRefused, Rate, RatePreference, choose_rate

RATES = [
    Rate("r1", "USPS", "Ground", 900, "usd", days=5),
    Rate("r2", "USPS", "Priority", 1500, "usd", days=2),
    Rate("r3", "UPS", "Next Day Air", 4200, "usd", days=1),
    Rate("r4", "UPS", "Ground", 900, "usd", days=4),
    Rate("r5", "FedEx", "Mystery", 800, "usd", days=None),
]


def test_the_cheapest_rate_is_bought_by_default_and_speed_breaks_a_tie() -> None:
    assert choose_rate(RATES, RatePreference.CHEAPEST).rate_id == "r5"
    without_mystery = RATES[:4]
    assert choose_rate(without_mystery, RatePreference.CHEAPEST).rate_id == "r4"


def test_the_fastest_rate_is_bought_when_asked_and_an_unknown_speed_counts_as_slowest() -> None:
    assert choose_rate(RATES, RatePreference.FASTEST).rate_id == "r3"


def test_no_rate_above_the_ceiling_is_bought_and_with_none_left_the_desk_is_asked() -> None:
    assert choose_rate(RATES, RatePreference.FASTEST, ceiling_minor=2000).rate_id == "r2"
    with pytest.raises(LabelRefused) as refused:
        choose_rate(RATES, RatePreference.CHEAPEST, ceiling_minor=500)
    assert refused.value.code == "above_ceiling"
    assert refused.value.details["cheapest_minor"] == 800
    with pytest.raises(LabelRefused) as none:
        choose_rate([], RatePreference.CHEAPEST)
    assert none.value.code == "no_rate"


def test_an_address_from_stored_fields_trims_and_says_what_is_missing() -> None:
    address = Address.from_mapping(
        {"name": " Mia Chen ", "street": "1 Main St", "city": "Leeds", "country": "GB", "x": 1}
    )
    assert address.name == "Mia Chen" and address.postcode == ""
    assert address.missing() == ["postcode"]
