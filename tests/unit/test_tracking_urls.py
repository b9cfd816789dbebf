"""Public tracking links (returns/addresses.py): built in for the carriers as EasyPost and
Shippo name them, matched without case, spaces, hyphens or underscores; the setting wins."""

from __future__ import annotations

import pytest

from returns.addresses import TRACKING_URLS, ReturnAddresses, carrier_key


def addresses(**tracking_urls: str) -> ReturnAddresses:
    return ReturnAddresses("MAIN/RETURNS", tracking_urls=tracking_urls or None)


@pytest.mark.parametrize(
    ("carrier", "url"),
    [
        ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000001"),
        ("ups", "https://www.ups.com/track?tracknum=9400100000000000000001"),
        ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=9400100000000000000001"),
        # EasyPost "DHLExpress", Shippo "DHL Express" / token "dhl_express"
        ("DHLExpress", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=9400100000000000000001"),
        ("DHL Express", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=9400100000000000000001"),
        ("dhl_express", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=9400100000000000000001"),
        ("DHL eCommerce", "https://webtrack.dhlecs.com/?trackingnumber=9400100000000000000001"),
        ("DhlEcs", "https://webtrack.dhlecs.com/?trackingnumber=9400100000000000000001"),
        ("Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=9400100000000000000001"),
        ("canada_post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=9400100000000000000001"),
        ("RoyalMail", "https://www.royalmail.com/track-your-item#/tracking-results/9400100000000000000001"),
        ("Parcelforce", "https://www.parcelforce.com/track-trace?trackNumber=9400100000000000000001"),
        ("Australia Post", "https://auspost.com.au/mypost/track/#/details/9400100000000000000001"),
        ("DPD", "https://tracking.dpd.de/status/en_US/parcel/9400100000000000000001"),
        ("dpd_uk", "https://track.dpd.co.uk/parcels/9400100000000000000001"),
        ("GLS", "https://gls-group.com/GROUP/en/parcel-tracking?match=9400100000000000000001"),
        ("SF Express", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/9400100000000000000001"),
        ("sfexpress", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/9400100000000000000001"),
        ("sf-express", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/9400100000000000000001"),
    ],
)  # fmt: skip
def test_the_carriers_as_the_providers_name_them_have_a_tracking_page(
    carrier: str, url: str
) -> None:
    assert addresses().tracking_url(carrier, "9400100000000000000001") == url


def test_an_unknown_carrier_has_no_link() -> None:
    assert addresses().tracking_url("Pony Express", "1") == ""
    assert addresses().tracking_url("", "1") == ""


def test_the_setting_overrides_a_built_in_page_however_it_spells_the_carrier() -> None:
    mine = addresses(
        **{"Royal Mail": "https://track.example/rm/{number}", "Yodel": "https://y/{number}"}
    )
    assert mine.tracking_url("royal_mail", "AB1") == "https://track.example/rm/AB1"
    assert mine.tracking_url("RoyalMail", "AB1") == "https://track.example/rm/AB1"
    assert mine.tracking_url("yodel", "JD2") == "https://y/JD2"
    assert mine.tracking_url("UPS", "1Z") == "https://www.ups.com/track?tracknum=1Z"  # kept


def test_the_number_is_url_encoded() -> None:
    assert (
        addresses().tracking_url("UPS", "1Z 99/&x")
        == "https://www.ups.com/track?tracknum=1Z%2099%2F%26x"
    )


def test_built_in_keys_are_already_in_their_matching_form() -> None:
    assert all(carrier_key(name) == name for name in TRACKING_URLS)
    assert all("{number}" in url and url.startswith("https://") for url in TRACKING_URLS.values())
