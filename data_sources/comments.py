"""Citizens' comments: validation, privacy and the one way a comment enters the store.

Every entry point (the feedback panel, its Dash callback, Open311 ``POST requests``, imports) goes through
``submit_comment`` so that validation, PII redaction, moderation and rate of acceptance are the same everywhere.
A comment acknowledged to a citizen is committed: ``submit_comment`` returns only after the transaction commits.
"""
from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import h3
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from data_sources.models import COMMENT_STATUSES, Comment, Feature
from data_sources.store import district_locator, h3_cells, utcnow

# Comment events whose public_text anyone may read (assignments, moderation and notes stay internal).
PUBLIC_EVENT_KINDS = ("status", "answer")
MIN_TEXT = 10
MAX_TEXT = 2000
MAX_EMAIL = 320
# Public views show the centre of the H3 cell at this resolution (~170 m across), never the exact point.
PUBLIC_RESOLUTION = 9

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of 9+ digits with the usual separators: phone numbers, not dates, times or house numbers.
PHONE_RE = re.compile(r"(?<!\w)\+?(?:\d[\s().\-/]{0,2}){8,}\d(?!\w)")
VALID_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class CommentRejected(ValueError):
    """A clear, translatable reason. ``message`` is an English message id; ``params`` fill its {placeholders}."""

    def __init__(self, field: str, message: str, **params: object):
        super().__init__(message.format(**params) if params else message)
        self.field = field
        self.message = message
        self.params = params


@dataclass
class CommentInput:
    lat: float
    lon: float
    category: str
    text: str
    email: str | None = None
    feature_id: int | None = None
    language: str | None = None
    client_key: str | None = None  # the client's idempotency key: a retried submission adds nothing
    origin: str = "web"
    evidence: dict | None = None
    created_at: datetime | None = None  # imports keep the original time; citizens get "now"
    status: str = "new"  # imports keep the upstream status; citizens' comments always start "new"
    closed_reason: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class SubmitResult:
    id: int
    tracking_token: str | None  # shown once to the author; only its hash is stored
    moderation: str
    redacted: bool
    duplicate_of_retry: bool = False


def redact_pii(text: str) -> tuple[str, bool]:
    out = EMAIL_RE.sub("[email removed]", text)
    out = PHONE_RE.sub("[phone removed]", out)
    return out, out != text


def clean_text(text: str) -> str:
    # Normalise so that look-alike characters cannot dodge the checks; strip control characters but keep newlines.
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"[ \t]+", " ", text).strip()


def validate(inp: CommentInput, city) -> CommentInput:  # noqa: ANN001  (CityConfig)
    """Raise CommentRejected with the first problem; return a normalised copy otherwise."""
    try:
        lat, lon = float(inp.lat), float(inp.lon)
    except (TypeError, ValueError):
        raise CommentRejected("location", "Choose a place on the map.") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CommentRejected("location", "Choose a place on the map.")
    b = city.city.bounds
    if b is not None:
        (s, w), (n, e) = b
        if not (s <= lat <= n and w <= lon <= e):
            raise CommentRejected("location", "That place is outside {city}.", city=city.city.name)
    if inp.category not in city.city.comment_categories:
        raise CommentRejected("category", "Choose a category.")
    text = clean_text(inp.text if isinstance(inp.text, str) else "")
    if len(text) < MIN_TEXT:
        raise CommentRejected("text", "Write at least {n} characters.", n=MIN_TEXT)
    if len(text) > MAX_TEXT:
        raise CommentRejected("text", "Write at most {n} characters (you wrote {m}).", n=MAX_TEXT, m=len(text))
    email = (inp.email or "").strip() or None
    if email is not None and (len(email) > MAX_EMAIL or not VALID_EMAIL_RE.match(email)):
        raise CommentRejected("email", "That email address does not look right; leave it empty if you prefer.")
    key = inp.client_key
    if key is not None and (not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_\-:.]{8,100}", key)):
        raise CommentRejected("client_key", "Invalid request.")
    if inp.status not in COMMENT_STATUSES or (inp.status == "closed") != bool(inp.closed_reason):
        raise CommentRejected("status", "Invalid request.")
    return CommentInput(lat=lat, lon=lon, category=inp.category, text=text, email=email, feature_id=inp.feature_id,
                        language=inp.language, client_key=key, origin=inp.origin, evidence=inp.evidence,
                        created_at=inp.created_at, status=inp.status, closed_reason=inp.closed_reason, extra=inp.extra)


# Words that hold a comment for a moderator instead of publishing it (a first line of defence; moderators
# decide). Matched on whole words, case-insensitively, after Unicode normalisation.
REVIEW_WORDS = {
    "en": ["fuck", "fucking", "shit", "cunt", "bastard", "asshole", "idiot", "kill"],
    "es": ["mierda", "puta", "cabrón", "pendejo", "gilipollas", "matar"],
    "nl": ["kut", "klootzak", "godverdomme", "kanker", "lul"],
    "pt": ["merda", "porra", "caralho", "puta", "filho da puta", "matar"],
}
_REVIEW_RE = re.compile(r"\b(" + "|".join(re.escape(w) for ws in REVIEW_WORDS.values() for w in ws) + r")\b", re.I)


def needs_review(text: str) -> bool:
    return bool(_REVIEW_RE.search(clean_text(text)))


def public_location(lat: float, lon: float) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, PUBLIC_RESOLUTION))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit_comment(engine: Engine, city, inp: CommentInput, hold_for_review=needs_review) -> SubmitResult:  # noqa: ANN001
    """Validate, redact, store and commit one comment. ``hold_for_review(text) -> bool`` decides moderation."""
    c = validate(inp, city)
    text, redacted = redact_pii(c.text)
    held = bool(hold_for_review and hold_for_review(c.text))
    token = secrets.token_urlsafe(24)
    now = utcnow()
    plat, plon = public_location(c.lat, c.lon)
    district = int(district_locator(engine)([c.lat], [c.lon])[0]) or None
    if c.feature_id is not None:
        with engine.connect() as conn:
            if conn.scalar(select(Feature.id).where(Feature.id == c.feature_id)) is None:
                raise CommentRejected("feature", "That map feature no longer exists; choose a place instead.")
    row = {
        "created_at": c.created_at or now, "updated_at": now, "lat": c.lat, "lon": c.lon,
        "public_lat": plat, "public_lon": plon, **h3_cells(c.lat, c.lon), "district_id": district,
        "feature_id": c.feature_id, "category": c.category, "text": text,
        "original_text": c.text if redacted else None, "language": c.language, "status": c.status,
        "closed_reason": c.closed_reason,
        "moderation": "held" if held else "published", "moderation_reason": "automatic check" if held else None,
        "email": c.email, "tracking_token_hash": token_hash(token), "evidence": c.evidence,
        "origin": c.origin, "client_key": c.client_key,
    }
    try:
        with engine.begin() as conn:
            cid = conn.execute(insert(Comment.__table__).returning(Comment.__table__.c.id), row).scalar_one()
    except IntegrityError:
        if c.client_key is None:
            raise
        # The same submission again (a retry after a lost answer): hand back the first one, add nothing.
        with engine.connect() as conn:
            existing = conn.execute(select(Comment.id, Comment.moderation).where(Comment.client_key == c.client_key)).one()
        return SubmitResult(existing.id, None, existing.moderation, redacted, duplicate_of_retry=True)
    return SubmitResult(cid, token, row["moderation"], redacted)
