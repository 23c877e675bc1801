"""Citizens' photos are made safe before anything is stored: no metadata survives, the picture is upright,
and anything that is not a photo we can read is refused with a clear reason."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from data_sources.comments.photos import FULL_SIDE, THUMB_SIDE, PhotoLimits, PhotoRejected, blur_region, process_photo

GPS_IFD = 0x8825
MAKER_NOTE = 0x927C
EXIF_IFD = 0x8769
ORIENTATION = 0x0112


def jpeg_with_everything(size: tuple[int, int] = (2400, 1800)) -> bytes:
    """A phone-like JPEG: EXIF with a GPS position, a maker note and a camera name, XMP, an ICC profile and a
    comment."""
    im = Image.new("RGB", size, (120, 160, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "SecretPhone 12"  # Model
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.46)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "W", (0.0, 7.0, 39.93)
    exif.get_ifd(EXIF_IFD)[MAKER_NOTE] = b"MAKERNOTE-SERIAL-0042"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description GPSLatitude="51,30.44N"/></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, xmp=xmp, icc_profile=icc, comment=b"COMMENT-Home-address-12")
    return out.getvalue()


def test_a_jpeg_with_gps_and_a_maker_note_comes_back_with_no_metadata_at_all() -> None:
    data = jpeg_with_everything()
    src = Image.open(io.BytesIO(data))
    assert src.getexif().get_ifd(GPS_IFD) and b"MAKERNOTE" in data and b"xmpmeta" in data  # the test file has it all

    p = process_photo(data)
    for blob in (p.full, p.thumb):
        im = Image.open(io.BytesIO(blob))
        assert im.format == "JPEG"
        assert not im.getexif() and not im.getexif().get_ifd(GPS_IFD)
        assert not ({"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(im.info))
        # ... and by bytes: no APP1 (Exif/XMP), APP2 (ICC), APP13, COM segment, and none of the strings.
        for marker in (b"Exif\x00", b"http://ns.adobe.com", b"ICC_PROFILE", b"Photoshop", b"\xff\xfe"):
            assert marker not in blob
        for secret in (b"MAKERNOTE", b"SecretPhone", b"PhoneMaker", b"xmpmeta", b"COMMENT-Home"):
            assert secret not in blob
    assert max(p.width, p.height) == FULL_SIDE and (p.width, p.height) == (1600, 1200)
    assert max(Image.open(io.BytesIO(p.thumb)).size) == THUMB_SIDE


def _oriented(orientation: int) -> bytes:
    """200 × 100 px, left half red and right half blue, with an EXIF orientation."""
    im = Image.new("RGB", (200, 100), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def _colour(im: Image.Image, xy: tuple[int, int]) -> str:
    r, _, b = im.convert("RGB").getpixel(xy)  # type: ignore[misc]
    return "red" if r > 200 and b < 60 else "blue" if b > 200 and r < 60 else "other"


# Where the red half ends up once the camera's orientation is applied (EXIF 2.32, tag 0x0112).
@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [
        (1, (200, 100), (20, 50)),  # as stored: red on the left
        (2, (200, 100), (180, 50)),  # mirrored: red on the right
        (3, (200, 100), (180, 50)),  # upside down
        (6, (100, 200), (50, 20)),  # turned 90° clockwise: the left edge becomes the top
        (8, (100, 200), (50, 180)),  # turned 90° anticlockwise: the left edge becomes the bottom
    ],
)
def test_photos_come_out_upright_whatever_the_camera_orientation(
    orientation: int, size: tuple[int, int], red_at: tuple[int, int]
) -> None:
    out = Image.open(io.BytesIO(process_photo(_oriented(orientation)).full))
    assert out.size == size
    assert _colour(out, red_at) == "red"
    assert not out.getexif()  # the orientation tag is gone too: it was applied, not kept


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    bomb = _png(Image.new("1", (20_000, 20_000)))  # 400 megapixels in a few dozen kilobytes
    assert len(bomb) < 200_000
    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(bomb)


def test_truncated_files_are_refused() -> None:
    data = jpeg_with_everything((800, 600))
    with pytest.raises(PhotoRejected, match="damaged or incomplete"):
        process_photo(data[: len(data) // 2])


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>',
        b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
        b"GIF89a/*<script>alert(1)</script>*/",
        b"%PDF-1.4\n1 0 obj<<>>endobj\n",
        b"\x00" * 64,
    ],
)
def test_files_that_are_not_photos_are_refused_by_content_whatever_their_name(content: bytes) -> None:
    with pytest.raises(PhotoRejected, match="not a photo we can read"):
        process_photo(content)


def test_a_polyglot_image_that_is_also_a_web_page_is_refused() -> None:
    photo = jpeg_with_everything((300, 200))
    polyglot = photo + b"<html><script>fetch('/officials/export.csv')</script></html>"
    Image.open(io.BytesIO(polyglot)).load()  # still a valid JPEG to an image decoder
    with pytest.raises(PhotoRejected, match="not a photo we can read"):
        process_photo(polyglot)
    zipped = photo + b"PK\x05\x06" + b"\x00" * 18  # an image that unzips (a "GIFAR"-style polyglot)
    with pytest.raises(PhotoRejected):
        process_photo(zipped)


def test_files_over_the_size_limit_are_refused_with_the_limit() -> None:
    with pytest.raises(PhotoRejected, match=r"at most 1 MB"):
        process_photo(b"\xff\xd8" + b"\x00" * (1024 * 1024 + 1), PhotoLimits(max_bytes=1024 * 1024))


def test_png_and_webp_with_transparency_are_flattened_to_jpeg() -> None:
    im = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        im.save(out, fmt)
        p = Image.open(io.BytesIO(process_photo(out.getvalue()).full))
        assert p.format == "JPEG" and p.mode == "RGB"
        assert _colour(p, (10, 10)) == "other" and p.getpixel((10, 10)) > (240, 240, 240)  # type: ignore[operator]


def test_heic_photos_from_phones_are_read_when_the_decoder_is_installed() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    try:
        Image.new("RGB", (320, 240), (0, 200, 0)).save(out, "HEIF")
    except (KeyError, OSError, ValueError) as e:  # a build without an encoder can still decode
        pytest.skip(f"no HEIF encoder here to make a test file: {e} ({pillow_heif.__version__})")
    p = process_photo(out.getvalue())
    assert Image.open(io.BytesIO(p.full)).format == "JPEG" and (p.width, p.height) == (320, 240)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_either_a_photo_or_a_clear_refusal(data: bytes) -> None:
    try:
        p = process_photo(data)
    except PhotoRejected as e:
        assert e.message.endswith(".")
    else:
        assert Image.open(io.BytesIO(p.full)).format == "JPEG"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2000))
def test_a_valid_jpeg_with_a_byte_changed_never_raises_anything_but_a_refusal(seed: int, where: int) -> None:
    data = bytearray(jpeg_with_everything((64, 48)))
    data[where % len(data)] = seed % 256
    try:
        process_photo(bytes(data))
    except PhotoRejected:
        pass


def test_blur_replaces_the_region_and_leaves_the_rest() -> None:
    im = Image.new("L", (400, 300), 255)
    for x in range(0, 400, 2):  # fine stripes: detail that a blur destroys
        for y in range(300):
            im.putpixel((x, y), 0)
    src = process_photo(_png(im.convert("RGB")))
    out = Image.open(io.BytesIO(blur_region(src.full, (0.0, 0.0, 0.5, 0.5)).full)).convert("L")
    before = Image.open(io.BytesIO(src.full)).convert("L")

    def spread(img: Image.Image, box: tuple[int, int, int, int]) -> int:
        lo, hi = img.crop(box).getextrema()  # type: ignore[misc]
        return int(hi) - int(lo)

    assert spread(before, (20, 20, 180, 130)) > 150  # stripes before
    assert spread(out, (20, 20, 180, 130)) < 40  # a flat grey after: nothing left to read
    assert spread(out, (220, 170, 380, 280)) > 150  # outside the region, unchanged
    with pytest.raises(PhotoRejected):
        blur_region(src.full, (0.5, 0.5, 0.5, 0.9))
