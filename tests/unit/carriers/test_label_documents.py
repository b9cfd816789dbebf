"""How a label's PDF and ZPL are stored on the shipment and picked to serve."""

from __future__ import annotations

import pytest

from carriers.label_documents import StoredLabel
from carriers.labels import LabelFormat, PurchasedLabel
from core.errors import NotFound

PDF = b"%PDF-1.4 label"
ZPL = b"^XA^FDlabel^FS^XZ"


def bought(document: bytes, media_type: str, zpl: bytes | None = None) -> PurchasedLabel:
    return PurchasedLabel(
        provider="easypost",
        carrier="USPS",
        service="Priority",
        tracking_number="9400",
        provider_label_id="shp_1",
        cost_minor=758,
        currency="usd",
        document=document,
        media_type=media_type,
        zpl=zpl,
    )


@pytest.mark.parametrize(
    ("label", "columns"),
    [
        (bought(PDF, "application/pdf"), (PDF, None, "application/pdf")),
        (bought(PDF, "application/pdf", ZPL), (PDF, ZPL, "application/pdf")),  # EasyPost
        (bought(ZPL, "application/zpl", ZPL), (None, ZPL, "application/zpl")),  # Shippo ZPLII
        (bought(ZPL, "application/zpl"), (None, ZPL, "application/zpl")),
    ],
)
def test_the_pdf_goes_to_label_and_the_zpl_to_label_zpl(
    label: PurchasedLabel, columns: tuple[object, ...]
) -> None:
    stored = StoredLabel.of(label).columns()
    assert (stored["label"], stored["label_zpl"], stored["label_media_type"]) == columns


def test_the_default_is_the_pdf_when_there_is_one_else_the_zpl() -> None:
    both = StoredLabel(pdf=PDF, zpl=ZPL)
    assert both.document(None, "Shipment 9400").content == PDF
    assert both.document(LabelFormat.ZPL, "Shipment 9400").media_type == "application/zpl"
    only_zpl = StoredLabel(pdf=None, zpl=ZPL)
    document = only_zpl.document(None, "Shipment 9400")
    assert (document.content, document.filename("label-9400")) == (ZPL, "label-9400.zpl")


def test_a_missing_format_and_a_missing_label_are_told_apart() -> None:
    with pytest.raises(NotFound) as no_format:
        StoredLabel(pdf=None, zpl=ZPL).document(LabelFormat.PDF, "Shipment 9400")
    assert no_format.value.code == "no_label_format"
    assert no_format.value.message == "Shipment 9400 has no PDF label (there is: ZPL)."
    with pytest.raises(NotFound) as none:
        StoredLabel(pdf=None, zpl=None).document(None, "Shipment 9400")
    assert none.value.code == "no_label"


def test_a_zpl_stored_in_label_before_label_zpl_existed_is_read_as_zpl() -> None:
    legacy = StoredLabel.from_columns(ZPL, None, "application/zpl")
    assert (legacy.pdf, legacy.zpl, legacy.formats) == (None, ZPL, (LabelFormat.ZPL,))
    assert StoredLabel.from_columns(PDF, ZPL, "application/pdf").formats == (
        LabelFormat.PDF,
        LabelFormat.ZPL,
    )
