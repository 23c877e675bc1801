"""Citizens' photos made safe before anything is stored: decoded under a pixel and a size limit, recognised by
their content (never by their name), turned upright, and re-encoded as a new JPEG that carries no metadata at all
(no EXIF, GPS, XMP, ICC profile, thumbnail or comment). The original bytes are never kept.

Pure functions over bytes: the caller stores what comes out (``data_sources.store.media``) and records it
(``data_sources.comments.records``).
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF (iPhone photos), where the maintained decoder is installed
    from pillow_heif import register_heif_opener

    # Only the primary image is ever read: embedded thumbnails, depth maps and auxiliary images (an iPhone's HDR
    # gain map) are not even listed, so they cost nothing.
    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    HEIF = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency; a city may build without it
    HEIF = False

# What Pillow may decode for us: anything else is refused by content, whatever the file is called.
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", *(("HEIF",) if HEIF else ()))
ACCEPTED_FORMATS = frozenset({*OPEN_FORMATS, "MPO"})  # MPO: a JPEG with extra frames (some phones); first frame kept
FULL_SIDE = 1600
THUMB_SIDE = 400
JPEG_QUALITY = 82


NOT_A_PHOTO = "This file is not a photo we can read (JPEG, PNG, WebP or HEIC)."


class PhotoRejected(ValueError):
    """A clear, translatable reason a photo was refused (an English message id with {placeholders}), and the HTTP
    status that says it: 413 too large, 415 not a photo we read, 422 otherwise (damaged, too many pixels...)."""

    def __init__(self, message: str, status: int = 422, **params: object) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.status = status
        self.params = params


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 12 * 1024 * 1024
    max_pixels: int = 50_000_000  # a 48-megapixel phone camera passes; a decompression bomb does not


@dataclass(frozen=True)
class ProcessedPhoto:
    full: bytes  # JPEG, at most FULL_SIDE px on its long side
    thumb: bytes  # JPEG, at most THUMB_SIDE px on its long side
    width: int
    height: int


# Markers of another kind of file hidden in an image (a polyglot: an image that a browser, a PDF reader or an
# unzipper would also open as something else). Re-encoding would drop them anyway; such a file is refused, so
# that nothing crafted is even processed. A camera writes none of these. They are looked for where a polyglot
# puts them, in the headers and metadata at the start and in a trailer at the end (a zip's directory is in its
# last 64 KB), not in the compressed pixels between, where four given bytes turn up by chance.
POLYGLOT_RE = re.compile(
    rb"<\s*(script|html|svg|iframe|object|embed|body|\?php)\b|javascript:|%PDF-|PK\x05\x06", re.IGNORECASE
)
POLYGLOT_SPAN = 64 * 1024


def _open(data: bytes, limits: PhotoLimits) -> Image.Image:
    if len(data) > limits.max_bytes:
        raise PhotoRejected("The photo is too large (at most {mb} MB).", 413, mb=limits.max_bytes // (1024 * 1024))
    if not data:
        raise PhotoRejected("The file is empty.")
    if POLYGLOT_RE.search(data[:POLYGLOT_SPAN]) or POLYGLOT_RE.search(data[-POLYGLOT_SPAN:]):
        raise PhotoRejected(NOT_A_PHOTO, 415)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
            # The header tells the size before any pixel is decoded: refuse a bomb before it costs memory.
            if im.width * im.height > limits.max_pixels or im.width < 1 or im.height < 1:
                raise PhotoRejected(
                    "The photo has too many pixels (at most {mp} megapixels).", mp=limits.max_pixels // 1_000_000
                )
            if im.format in ("JPEG", "MPO"):
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers FULL_SIDE (libjpeg's DCT scaling): a
                # 12-megapixel photo decodes in a fraction of the time and memory, and loses nothing we keep.
                scale = FULL_SIDE / max(im.width, im.height)
                if scale < 1:
                    im.draft(im.mode, (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
            im.load()
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(
            "The photo has too many pixels (at most {mp} megapixels).", mp=limits.max_pixels // 1_000_000
        ) from None
    except UnidentifiedImageError:
        raise PhotoRejected(NOT_A_PHOTO, 415) from None
    except (OSError, ValueError, SyntaxError, EOFError):  # truncated or corrupt data
        raise PhotoRejected("The photo is damaged or incomplete; take or choose it again.") from None
    if im.format not in ACCEPTED_FORMATS:  # pragma: no cover - Image.open(formats=...) already refuses
        raise PhotoRejected(NOT_A_PHOTO, 415)
    return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Upright, in sRGB, without alpha (flattened on white): the only form we keep."""
    im = ImageOps.exif_transpose(im) or im
    icc = im.info.get("icc_profile")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:  # convert colours from the embedded profile, so that dropping it changes nothing visible
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = (
                ImageCms.profileToProfile(
                    im, src, ImageCms.createProfile("sRGB"), outputMode="RGB" if im.mode != "RGBA" else "RGBA"
                )
                or im
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def encode_jpeg(im: Image.Image) -> bytes:
    """A fresh JPEG of these pixels and nothing else: no EXIF, XMP, ICC profile, comment or thumbnail."""
    clean = Image.new("RGB", im.size)
    clean.paste(im.convert("RGB"))  # a new image object carries none of the original's info dictionary
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


# Resize in two steps (Pillow's ``reducing_gap``): a fast box reduction by a whole factor while the image stays at
# least this many times the target size, then Lanczos for the rest. From a camera's full size to FULL_SIDE, 1.0
# (a 4000-px photo: box to 2000, Lanczos to 1600) takes 0.06 s of CPU where Lanczos alone takes 0.15 s, and differs
# from it by 1.2 levels of 255 on average (bench/photo.py's photo; measured 2026-11-30). The thumbnail, from
# FULL_SIDE, keeps Pillow's default 2.0 (it costs little either way).
FULL_REDUCING_GAP = 1.0
THUMB_REDUCING_GAP = 2.0


def _fit(im: Image.Image, side: int, in_place: bool = False, reducing_gap: float = THUMB_REDUCING_GAP) -> Image.Image:
    """At most ``side`` px on the long side. ``in_place``: shrink ``im`` itself (a freshly decoded image nobody
    else holds), which saves a full-size copy."""
    if max(im.size) <= side:
        return im
    target = im if in_place else im.copy()
    target.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=reducing_gap)
    return target


def process_photo(data: bytes, limits: PhotoLimits | None = None) -> ProcessedPhoto:
    """The bytes a citizen uploaded, made safe: raises ``PhotoRejected`` with a reason, or returns new JPEGs.
    The decoded image is shrunk first, so turning it upright and converting its colours work on 1600 px, not on
    the camera's 12 or 48 megapixels (the long side is the same whichever way up, and the EXIF stays in ``info``)."""
    full = _to_srgb(_fit(_open(data, limits or PhotoLimits()), FULL_SIDE, True, FULL_REDUCING_GAP))
    return ProcessedPhoto(
        full=encode_jpeg(full), thumb=encode_jpeg(_fit(full, THUMB_SIDE)), width=full.width, height=full.height
    )


def blur_region(jpeg: bytes, box: tuple[float, float, float, float]) -> ProcessedPhoto:
    """The photo with a region (``left, top, right, bottom`` as fractions of the width and height) blurred beyond
    recognition, e.g. a face or a number plate; returns the new full-size photo and its thumbnail."""
    left, top, right, bottom = (min(max(float(v), 0.0), 1.0) for v in box)
    if right <= left or bottom <= top:
        raise PhotoRejected("Choose a region to blur.")
    im = _open(jpeg, PhotoLimits()).convert("RGB")
    px = (round(left * im.width), round(top * im.height), round(right * im.width), round(bottom * im.height))
    region = im.crop(px)
    # Pixelate, then blur: nothing of the original detail survives, whatever the region's size.
    small = region.resize((max(1, region.width // 16), max(1, region.height // 16)), Image.Resampling.BILINEAR)
    region = small.resize(region.size, Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(8))
    im.paste(region, px[:2])
    return ProcessedPhoto(
        full=encode_jpeg(im), thumb=encode_jpeg(_fit(im, THUMB_SIDE)), width=im.width, height=im.height
    )
