"""Customers' photos: JPEG or PNG by content, size-limited, every byte of metadata gone."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.errors import InvalidInput
from returns.photos import MAX_PHOTO_BYTES, clean_photo

GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0132] = "2026:01:01 10:00:00"  # DateTime
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def test_a_jpeg_with_gps_comes_out_without_any_metadata() -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        assert GPS_IFD in before.getexif()  # the test photo does carry a location
    photo = clean_photo("IMG_0001.JPG", original)
    assert photo.media_type == "image/jpeg" and photo.filename == "IMG_0001.jpg"
    with Image.open(io.BytesIO(photo.data)) as after:
        assert after.format == "JPEG" and after.size == (64, 48)
        assert dict(after.getexif()) == {}
        assert "exif" not in after.info and "comment" not in after.info
    assert b"SpyCam" not in photo.data and b"secret comment" not in photo.data


def test_a_png_keeps_its_pixels_and_loses_its_text_chunks() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Mia at 1 High Street")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info)
    photo = clean_photo("scratch.png", out.getvalue())
    assert photo.media_type == "image/png" and b"High Street" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as after:
        assert after.getpixel((5, 5)) == (0, 0, 255, 128)


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_photo("holiday.jpg", b"%PDF-1.7 not a photo at all")
    assert refused.value.code == "photo_not_image"


def test_another_image_format_is_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    with pytest.raises(InvalidInput) as refused:
        clean_photo("photo.png", out.getvalue())
    assert refused.value.code == "photo_not_image"


def test_a_photo_above_the_size_limit_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_photo("big.jpg", jpeg_with_gps() + b"\0" * MAX_PHOTO_BYTES)
    assert refused.value.code == "photo_too_large"
