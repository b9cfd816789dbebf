"""Customers' photos of a return: JPEG or PNG only, judged by their content (not their name),
size-limited, and re-encoded from the pixels so no metadata survives (EXIF, GPS, comments).

Decoding is bounded: Pillow refuses images above ``MAX_PIXELS`` (a decompression bomb), and a
file larger than the limit is refused before it is decoded.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from core.errors import N_, InvalidInput

#: Per photo, before re-encoding.
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
#: About 40 megapixels: any phone's photo, no decompression bomb.
MAX_PIXELS = 40_000_000
#: Pillow format name -> media type and extension kept.
ACCEPTED = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


@dataclass(frozen=True)
class Photo:
    """A photo as it is stored: clean bytes, their media type and hash, a safe file name."""

    filename: str
    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _safe_name(name: str, extension: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0])[:80].strip("._")
    return f"{stem or f'photo-{index + 1}'}.{extension}"


def clean_photo(name: str, data: bytes, index: int = 0) -> Photo:
    """The photo re-encoded without metadata; refused (422) if not a JPEG or PNG or too big."""
    field = f"photos.{index}"
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(
            field,
            N_("A photo may be at most %(value)s MB.", value=MAX_PHOTO_BYTES // (1024 * 1024)),
            code="photo_too_large",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            if kind not in ACCEPTED:
                raise InvalidInput(field, N_("Send photos as JPEG or PNG."), code="photo_not_image")
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(
                    field, N_("The photo has too many pixels."), code="photo_too_large"
                )
            image.load()
            pixels = _pixels_only(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as error:
        raise InvalidInput(
            field, N_("Send photos as JPEG or PNG."), code="photo_not_image"
        ) from error
    media_type, extension = ACCEPTED[kind]
    out = io.BytesIO()
    if kind == "JPEG":
        pixels.save(out, "JPEG", quality=88, optimize=True)
    else:
        pixels.save(out, "PNG", optimize=True)
    return Photo(_safe_name(name, extension, index), media_type, out.getvalue())


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels (upright, as the camera's orientation said)."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(image) or image
    mode = "RGB" if image.format == "JPEG" else ("RGBA" if "A" in upright.mode else "RGB")
    converted = upright.convert(mode)
    clean = Image.new(converted.mode, converted.size)
    clean.paste(converted)
    return clean


def check_count(count: int) -> None:
    if count > MAX_PHOTOS:
        raise InvalidInput(
            "photos",
            N_("Send at most %(MAX_PHOTOS)s photos.", MAX_PHOTOS=MAX_PHOTOS),
            code="too_many_photos",
        )
