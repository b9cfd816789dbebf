"""File downloads built on the fly: spooled to a temporary file, never held in memory."""

from __future__ import annotations

import re
import tempfile
import weakref
from collections.abc import Callable
from typing import IO

from flask import Response, send_file

from carriers.label_documents import LabelDocument
from carriers.labels import LabelFormat
from core.spreadsheets import XLSX_MIME


def xlsx_download(write: Callable[[IO[bytes]], object], filename: str) -> Response:
    """Send what ``write`` puts into a temporary file, as an attachment called ``filename``."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it)
    try:
        write(spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = send_file(spool, mimetype=XLSX_MIME, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    # The server closes the file when the response is done; should a client never read it,
    # the file is closed when the body is discarded instead of leaking a descriptor.
    weakref.finalize(response.response, spool.close)
    return response


def label_download(document: LabelDocument, stem: str) -> Response:
    """A label document with its media type and a filename (``stem`` plus the format's
    extension): a PDF opens in the browser to print, a ZPL is saved for the printer."""
    response = Response(document.content, mimetype=document.media_type)
    disposition = "attachment" if document.label_format is LabelFormat.ZPL else "inline"
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="{document.filename(re.sub(r"[^A-Za-z0-9_-]", "-", stem))}"'
    )
    response.headers["Cache-Control"] = "no-store"  # a customer's name and address
    return response
