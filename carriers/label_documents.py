"""How a bought label's documents are stored on its shipment and served back.

A label may come as a PDF (4x6, for any printer), as ZPL (for thermal label printers), or as
both (EasyPost converts one into the other). The shipment keeps the PDF in ``label`` and the
ZPL in ``label_zpl``; ``label_media_type`` says which of them is served when no format is
asked for (the PDF when there is one). Rows stored before ``label_zpl`` existed may hold a
ZPL label in ``label`` (``label_media_type`` ``application/zpl``): they are read as ZPL.

One place for this, so the shipment label (``GET /api/v1/shipments/{number}/label``), the
replacement label and the customer's e-mail all serve the same documents the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from carriers.labels import PDF_MEDIA_TYPE, ZPL_MEDIA_TYPE, LabelFormat, PurchasedLabel
from core.errors import N_, NotFound

MEDIA_TYPES = {LabelFormat.PDF: PDF_MEDIA_TYPE, LabelFormat.ZPL: ZPL_MEDIA_TYPE}


@dataclass(frozen=True)
class LabelDocument:
    content: bytes
    label_format: LabelFormat

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.label_format]

    def filename(self, stem: str) -> str:
        """``stem`` with the format's extension (``label-1Z999.zpl``)."""
        return f"{stem}.{self.label_format.value}"


@dataclass(frozen=True)
class StoredLabel:
    """The label columns of a shipment, as written (``of``) or read (``from_columns``)."""

    pdf: bytes | None
    zpl: bytes | None

    @classmethod
    def of(cls, label: PurchasedLabel) -> StoredLabel:
        """What a provider gave: its document (PDF or ZPL, by ``media_type``) and the ZPL
        copy beside a PDF."""
        document = label.document or None
        if label.media_type == ZPL_MEDIA_TYPE:
            return cls(pdf=None, zpl=label.zpl or document)
        return cls(pdf=document, zpl=label.zpl or None)

    @classmethod
    def from_columns(
        cls, label: bytes | None, label_zpl: bytes | None, media_type: str | None
    ) -> StoredLabel:
        if label is not None and media_type == ZPL_MEDIA_TYPE and label_zpl is None:
            return cls(pdf=None, zpl=bytes(label))  # stored before label_zpl existed
        return cls(
            pdf=bytes(label) if label is not None else None,
            zpl=bytes(label_zpl) if label_zpl is not None else None,
        )

    def columns(self) -> dict[str, bytes | str | None]:
        """``Shipment`` keyword arguments: ``label``, ``label_zpl``, ``label_media_type``."""
        if self.pdf is None and self.zpl is None:
            return {"label": None, "label_zpl": None, "label_media_type": None}
        return {
            "label": self.pdf,
            "label_zpl": self.zpl,
            "label_media_type": PDF_MEDIA_TYPE if self.pdf is not None else ZPL_MEDIA_TYPE,
        }

    @property
    def formats(self) -> tuple[LabelFormat, ...]:
        """The formats there are, the default first."""
        return tuple(
            f
            for f, content in ((LabelFormat.PDF, self.pdf), (LabelFormat.ZPL, self.zpl))
            if content is not None
        )

    def document(self, wanted: LabelFormat | None, what: str) -> LabelDocument:
        """The document in ``wanted`` format (None: the PDF if there is one, else the ZPL).
        NotFound ``no_label`` without any, ``no_label_format`` without that one; ``what``
        names the label in the message ("Shipment 1Z999")."""
        formats = self.formats
        if not formats:
            raise NotFound(N_("%(what)s has no label.", what=what), code="no_label")
        chosen = wanted or formats[0]
        if chosen not in formats:
            there = ", ".join(f.value.upper() for f in formats)
            raise NotFound(
                N_(
                    "%(what)s has no %(value)s label (there is: %(there)s).",
                    what=what,
                    value=chosen.value.upper(),
                    there=there,
                ),
                code="no_label_format",
                formats=[f.value for f in formats],
            )
        content = self.pdf if chosen is LabelFormat.PDF else self.zpl
        assert content is not None
        return LabelDocument(content, chosen)
