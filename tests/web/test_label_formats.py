# ruff: noqa: F811 (the shop fixture comes from test_status_page.py)
"""A label's PDF and ZPL side by side: bought, stored, served by format (the shipment's label,
the replacement's label, the desk's parcel link) and offered on the pick queue, the pick list
and the RMA page; and SPAREFLOW_LABEL_FORMAT deciding what outbound labels are bought in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import update

from accounts.models import Role
from carriers.labels import LabelFormat, LabelRequest, PurchasedLabel
from carriers.models import Shipment
from core.outbox import OutboxMessage
from returns.context import LabelSettings
from tests.support import desk as builders
from tests.web.test_outbound_labels import ZPL, drain, floor, queued_replacement  # noqa: F401
from tests.web.test_status_page import STAFF, open_return, shop  # noqa: F401 (shop: a fixture)


@pytest.fixture
def app_config(carrier_url: str) -> dict[str, Any]:
    return {"SANDBOX_CARRIER_URL": carrier_url, "OUTBOUND_CARRIER": "sandbox"}


def bought_outbound_label(client: Any, shop: Any, headers: dict[str, str]) -> tuple[str, int, str]:
    """A replacement shipped on an outbound label bought from the sandbox (a PDF)."""
    number, replacement_id = queued_replacement(shop)
    client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    drain(shop)
    return number, replacement_id, shop.returns.get(number).replacements[0].tracking_number


def store(session_factory: Any, tracking: str, **columns: Any) -> None:
    with session_factory() as session:
        session.execute(
            update(Shipment).where(Shipment.tracking_number == tracking).values(**columns)
        )
        session.commit()


def test_both_formats_are_served_by_format_with_a_filename(
    client, shop, sandbox, role_headers, session_factory
) -> None:
    headers = role_headers[Role.WAREHOUSE]
    number, replacement_id, tracking = bought_outbound_label(client, shop, headers)
    store(session_factory, tracking, label_zpl=ZPL)  # as an EasyPost label keeps both

    label = f"/api/v1/shipments/{tracking}/label"
    default = client.get(label, headers=headers)
    assert (default.status_code, default.mimetype) == (200, "application/pdf")
    assert default.data.startswith(b"%PDF")
    assert default.headers["Content-Disposition"] == f'inline; filename="label-{tracking}.pdf"'
    zpl = client.get(f"{label}?format=zpl", headers=headers)
    assert (zpl.status_code, zpl.mimetype, zpl.data) == (200, "application/zpl", ZPL)
    assert zpl.headers["Content-Disposition"] == f'attachment; filename="label-{tracking}.zpl"'
    assert client.get(f"{label}?format=png", headers=headers).status_code == 422

    replacement = f"/api/v1/replacements/{replacement_id}/label"
    assert client.get(f"{replacement}?format=zpl", headers=headers).data == ZPL
    served = client.get(replacement, headers=headers)
    assert served.mimetype == "application/pdf"
    assert 'filename="replacement-' in served.headers["Content-Disposition"]

    shipment = client.get(f"/api/v1/shipments/{tracking}", headers=headers).json
    assert (shipment["has_label"], shipment["label_formats"]) == (True, ["pdf", "zpl"])
    [queued] = client.get("/api/v1/replacements", headers=headers).json
    assert queued["label_formats"] == ["pdf", "zpl"]
    [parcel] = client.get(f"/api/v1/returns/{number}", headers=headers).json["shipments"][1:]
    assert parcel["tracking_number"] == tracking and parcel["label_formats"] == ["pdf", "zpl"]


def test_a_zpl_only_label_is_the_default_and_has_no_pdf(
    client, shop, sandbox, role_headers, session_factory
) -> None:
    """Shippo sold it as ZPLII: the shipment keeps no PDF, and says so (404 no_label_format)."""
    headers = role_headers[Role.WAREHOUSE]
    _, replacement_id, tracking = bought_outbound_label(client, shop, headers)
    store(session_factory, tracking, label=None, label_zpl=ZPL, label_media_type="application/zpl")

    default = client.get(f"/api/v1/shipments/{tracking}/label", headers=headers)
    assert (default.status_code, default.mimetype, default.data) == (200, "application/zpl", ZPL)
    pdf = client.get(f"/api/v1/shipments/{tracking}/label?format=pdf", headers=headers)
    assert pdf.status_code == 404
    assert pdf.json["error"]["code"] == "no_label_format"
    assert "no PDF label" in pdf.json["error"]["message"]
    replacement = client.get(f"/api/v1/replacements/{replacement_id}/label", headers=headers)
    assert (replacement.mimetype, replacement.data) == ("application/zpl", ZPL)
    [queued] = client.get("/api/v1/replacements", headers=headers).json
    assert queued["label_formats"] == ["zpl"]


def test_a_shipment_without_a_label_says_so(client, shop, role_headers) -> None:
    queued_replacement(shop)  # authorised with the customer's own parcel
    answer = client.get("/api/v1/shipments/SBX-BACK-1/label", headers=role_headers[Role.WAREHOUSE])
    assert answer.status_code == 404 and answer.json["error"]["code"] == "no_label"
    buyer = client.get("/api/v1/shipments/SBX-BACK-1/label", headers=role_headers[Role.BUYER])
    assert buyer.status_code == 403


def test_the_pages_offer_the_zpl_only_when_there_is_one(
    client, floor, shop, sandbox, role_headers, session_factory
) -> None:
    number, replacement_id, tracking = bought_outbound_label(
        client, shop, role_headers[Role.WAREHOUSE]
    )
    zpl_link = f"/warehouse/picks/{replacement_id}/label?format=zpl"
    parcel_zpl = f"/returns/parcels/{tracking}/label?format=zpl"
    assert zpl_link not in floor.get("/warehouse").get_data(as_text=True)
    rma_page = floor.get(f"/returns/{number}").get_data(as_text=True)
    assert f"/returns/parcels/{tracking}/label?format=pdf" in rma_page
    assert parcel_zpl not in rma_page

    store(session_factory, tracking, label_zpl=ZPL)
    queue = floor.get("/warehouse").get_data(as_text=True)
    assert zpl_link in queue and f'href="/warehouse/picks/{replacement_id}/label"' in queue
    pick_list = floor.get("/warehouse/pick-list").get_data(as_text=True)
    assert zpl_link in pick_list and "Print its label (PDF 4x6)" in pick_list
    assert parcel_zpl in floor.get(f"/returns/{number}").get_data(as_text=True)
    printed = floor.get(zpl_link)
    assert (printed.status_code, printed.mimetype, printed.data) == (200, "application/zpl", ZPL)
    assert floor.get(parcel_zpl).data == ZPL

    store(session_factory, tracking, label=None, label_media_type="application/zpl")
    pick_list = floor.get("/warehouse/pick-list").get_data(as_text=True)
    assert zpl_link in pick_list and "Print its label (PDF 4x6)" not in pick_list
    missing = floor.get(f"/returns/parcels/{tracking}/label?format=pdf")
    assert missing.status_code == 404


class RecordingProviders:
    """The real label providers (the loopback sandbox), noting the format each label asked."""

    def __init__(self, providers: Any):
        self.providers = providers
        self.formats: list[tuple[str, LabelFormat]] = []

    def __call__(self, name: str) -> Any:
        provider = self.providers(name)
        formats = self.formats

        class Recording:
            def __getattr__(self, attribute: str) -> Any:
                return getattr(provider, attribute)

            def buy_label(self, request: LabelRequest) -> PurchasedLabel:
                formats.append((request.reference, request.label_format))
                return provider.buy_label(request)

        return Recording()


def test_label_format_zpl_buys_outbound_labels_as_zpl_and_return_labels_as_pdf(
    client, shop, sandbox, role_headers, session_factory
) -> None:
    ctx = shop.returns.ctx
    ctx.labels = replace(ctx.labels, label_format=LabelFormat.ZPL)
    recording = RecordingProviders(ctx.label_providers)
    ctx.label_providers = recording
    number, replacement_id = queued_replacement(shop)
    shop.returns.outbound_labels.order("ann@wh.example", replacement_id)
    with session_factory() as session:
        payload = session.query(OutboxMessage.payload).filter(
            OutboxMessage.key == f"replacement-label:{replacement_id}"
        )
        assert payload.scalar()["label_format"] == "zpl"
    drain(shop)
    assert recording.formats == [(f"{number}/R{replacement_id}", LabelFormat.ZPL)]

    # A customer prints a return label at home from the e-mail: always the PDF.
    prepaid = open_return(shop)
    builders.authorise(shop.returns, STAFF, prepaid)
    drain(shop)
    assert recording.formats[1:] == [(prepaid, LabelFormat.PDF)]
    assert shop.returns.get(prepaid).return_tracking_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, LabelFormat.PDF),
        ("pdf", LabelFormat.PDF),
        ("ZPL", LabelFormat.ZPL),
        (" zpl ", LabelFormat.ZPL),
    ],
)
def test_the_label_format_setting(value: object, expected: LabelFormat) -> None:
    assert LabelSettings.from_settings({"LABEL_FORMAT": value}).label_format is expected


def test_a_misspelt_label_format_stops_the_start() -> None:
    with pytest.raises(ValueError, match=r"LABEL_FORMAT is 'pdf' or 'zpl', not 'epl'"):
        LabelSettings.from_settings({"LABEL_FORMAT": "epl"})
