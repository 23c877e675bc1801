"""Citizens' comments: validation, privacy and the one way a comment enters the store.

Every entry point (the feedback panel, its Dash callback, Open311 ``POST requests``, imports) goes through
``submit_comment`` so that validation, PII redaction, moderation and rate of acceptance are the same everywhere.
A comment acknowledged to a citizen is committed: ``submit_comment`` returns only after the transaction commits.
"""
from __future__ import annotations

from typing import Any

import hashlib
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import h3
from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data_sources.store.models import (
    COMMENT_STATUSES,
    OPEN_STATUSES,
    Comment,
    CommentEvent,
    District,
    Feature,
    Flag,
    Support,
)
from data_sources.store.db import district_locator, h3_cells, utcnow
from data_sources.config import CityConfig
from sqlalchemy.engine import Connection

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

    def __init__(self, field: str, message: str, **params: object) -> None:
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
    # str.isprintable() is False for any "Other" (C*) character or separator, so the text needs the per-character
    # pass only then. Most comments never need it; it cost 0.17 M of the 4.6 M instructions of a comment
    # (three calls: the page checks, submit_comment checks, and the moderation check).
    if not text.replace("\n", "").replace("\t", "").isprintable():
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"[ \t]+", " ", text).strip()


def validate(inp: CommentInput, city: CityConfig) -> CommentInput:
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


def submit_comment(engine: Engine, city: CityConfig, inp: CommentInput, hold_for_review: Any=needs_review) -> SubmitResult:
    """Validate, redact, store and commit one comment. ``hold_for_review(text) -> bool`` decides moderation.

    The evidence (nearest relevant reading for that place and hour) is looked up here unless the caller brings
    its own (imports keep theirs)."""
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
    if c.evidence is None:
        from data_sources.comments.evidence import nearest_reading

        c.evidence = nearest_reading(engine, c.lat, c.lon, c.category, c.created_at or now, c.feature_id)
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
        # One INSERT is its own transaction, with the triggers it fires: committed when execute returns, without a
        # BEGIN and a COMMIT of its own (two round trips less per comment on PostgreSQL).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            cid = conn.execute(insert(Comment.__table__).returning(Comment.__table__.c.id), row).scalar_one()
    except IntegrityError:
        if c.client_key is None:
            raise
        # The same submission again (a retry after a lost answer): hand back the first one, add nothing.
        with engine.connect() as conn:
            existing = conn.execute(select(Comment.id, Comment.moderation).where(Comment.client_key == c.client_key)).one()
        return SubmitResult(existing.id, None, existing.moderation, redacted, duplicate_of_retry=True)
    return SubmitResult(cid, token, row["moderation"], redacted)


# --- supports ("me too") and flags: one per browser per comment ---------------------------------------------

BROWSER_ID_RE = re.compile(r"[A-Za-z0-9_\-]{16,100}")


def client_hash(kind: str, browser_id: str) -> str:
    """The stored stand-in for a browser: a random id from the browser's local storage, hashed."""
    if not isinstance(browser_id, str) or not BROWSER_ID_RE.fullmatch(browser_id):
        raise CommentRejected("browser", "Your browser did not send its id; reload the page and try again.")
    return hashlib.sha256(f"{kind}:{browser_id}".encode()).hexdigest()


@dataclass
class VoteResult:
    added: bool  # False: this browser had already done it
    count: int
    hidden: bool = False  # a flag that reached the threshold hid the comment


def _published(conn: Connection, comment_id: int) -> None:
    if conn.scalar(select(Comment.moderation).where(Comment.id == comment_id)) != "published":
        raise CommentRejected("comment", "That comment is not available.")


def add_support(engine: Engine, comment_id: int, browser_id: str) -> VoteResult:
    """Count one "me too" per browser per comment; committed before returning."""
    h = client_hash("support", browser_id)
    try:
        with engine.begin() as conn:
            _published(conn, comment_id)
            conn.execute(insert(Support).values(comment_id=comment_id, client_hash=h, created_at=utcnow()))
            count = conn.execute(update(Comment).where(Comment.id == comment_id)
                                 .values(support_count=Comment.support_count + 1).returning(Comment.support_count)).scalar_one()
        return VoteResult(True, count)
    except IntegrityError:
        with engine.connect() as conn:
            return VoteResult(False, conn.scalar(select(Comment.support_count).where(Comment.id == comment_id)) or 0)


FLAG_REASONS = ("abusive", "personal_data", "spam", "other")


def flag_comment(engine: Engine, comment_id: int, browser_id: str, reason: str | None, threshold: int) -> VoteResult:
    """Record one flag per browser; at ``threshold`` flags the comment is hidden pending a moderator's review."""
    h = client_hash("flag", browser_id)
    reason = reason if reason in FLAG_REASONS else "other"
    now = utcnow()
    try:
        with engine.begin() as conn:
            _published(conn, comment_id)
            conn.execute(insert(Flag).values(comment_id=comment_id, client_hash=h, reason=reason, created_at=now))
            count = conn.execute(update(Comment).where(Comment.id == comment_id)
                                 .values(flag_count=Comment.flag_count + 1).returning(Comment.flag_count)).scalar_one()
            hidden = False
            if count >= threshold:
                # Conditional update: of two concurrent flags reaching the threshold, one hides and logs it.
                hidden = conn.execute(
                    update(Comment).where(Comment.id == comment_id, Comment.moderation == "published")
                    .values(moderation="hidden", moderation_reason=f"hidden after {count} flags", updated_at=now)
                ).rowcount == 1
                if hidden:
                    conn.execute(insert(CommentEvent).values(
                        comment_id=comment_id, created_at=now, kind="moderation",
                        internal_text=f"hidden automatically after {count} flags, pending review"))
        return VoteResult(True, count, hidden)
    except IntegrityError:
        with engine.connect() as conn:
            return VoteResult(False, conn.scalar(select(Comment.flag_count).where(Comment.id == comment_id)) or 0)


# --- duplicates: open comments of the same category nearby ----------------------------------------------------

# An H3 r9 cell's inscribed radius is ~150 m: points within that distance are in the same cell or a neighbour.
_R9_INNER_M = 150


def rank_duplicates(candidates: list[dict], lat: float, lon: float, radius_m: float, limit: int = 5) -> list[dict]:
    """Candidates (with exact lat/lon) within ``radius_m`` of the point, nearest first (to 10 m: closer than that
    is the same spot), then most supported. Pure; the distance stays server-side (only the order is shown)."""
    out = []
    for c in candidates:
        d = h3.great_circle_distance((lat, lon), (c["lat"], c["lon"]), unit="m")
        if d <= radius_m:
            out.append((round(d / 10), -c.get("support_count", 0), c["id"], c))
    out.sort(key=lambda t: t[:3])
    return [t[3] for t in out[:limit]]


def find_duplicates(engine: Engine, lat: float, lon: float, category: str, radius_m: float = 100,
                    limit: int = 5) -> list[dict]:
    """Open, published comments of ``category`` within ``radius_m``: public fields only."""
    try:
        cell = h3.latlng_to_cell(float(lat), float(lon), 9)
    except (TypeError, ValueError, h3.H3BaseException):
        return []
    k = 1 + int(radius_m // _R9_INNER_M)
    cells = [h3.str_to_int(c) for c in h3.grid_disk(cell, k)]
    q = select(Comment.id, Comment.lat, Comment.lon, Comment.text, Comment.status, Comment.support_count,
               Comment.created_at).where(
        Comment.h3_r9.in_(cells), Comment.category == category, Comment.moderation == "published",
        Comment.status.in_(OPEN_STATUSES))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    ranked = rank_duplicates(rows, float(lat), float(lon), radius_m, limit)
    return [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in ranked]


# --- public reads: never the exact location, the email or the unredacted text ------------------------------

PUBLIC_FIELDS = (Comment.id, Comment.created_at, Comment.updated_at, Comment.public_lat, Comment.public_lon,
                 Comment.h3_r9, Comment.district_id, Comment.feature_id, Comment.category, Comment.text,
                 Comment.status, Comment.closed_reason, Comment.moderation, Comment.support_count, Comment.evidence,
                 Comment.resolved_at, District.name.label("district"))


def _public_query() -> Any:
    return select(*PUBLIC_FIELDS).outerjoin(District, District.id == Comment.district_id)


def public_comment(engine: Engine, comment_id: int) -> dict | None:
    """A comment as anyone may see it (None if unknown). Check ``moderation`` before showing its text."""
    with engine.connect() as conn:
        r = conn.execute(_public_query().where(Comment.id == comment_id)).first()
    return dict(r._mapping) if r else None


def comment_by_token(engine: Engine, token: str) -> dict | None:
    """The author's view through their private tracking link."""
    if not isinstance(token, str) or not (10 <= len(token) <= 100):
        return None
    with engine.connect() as conn:
        r = conn.execute(_public_query().where(Comment.tracking_token_hash == token_hash(token))).first()
    return dict(r._mapping) if r else None


def public_history(engine: Engine, comment_id: int) -> list[dict]:
    """Status changes and official answers, oldest first. Internal notes, assignments and moderation stay out."""
    q = (select(CommentEvent.id, CommentEvent.created_at, CommentEvent.kind, CommentEvent.from_status,
                CommentEvent.to_status, CommentEvent.public_text)
         .where(CommentEvent.comment_id == comment_id, CommentEvent.kind.in_(("status", "answer")))
         .order_by(CommentEvent.created_at, CommentEvent.id))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def published_comments(engine: Engine, *, district_id: int | None = None, category: str | None = None,
                       status: str | None = None, limit: int = 50, order_by_resolved: bool = False) -> list[dict]:
    cond = [Comment.moderation == "published"]
    if district_id is not None:
        cond.append(Comment.district_id == district_id)
    if category is not None:
        cond.append(Comment.category == category)
    if status is not None:
        cond.append(Comment.status == status)
    order = Comment.resolved_at.desc() if order_by_resolved else Comment.updated_at.desc()
    q = _public_query().where(and_(*cond)).order_by(order, Comment.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def latest_public_answers(engine: Engine, comment_ids: list[int]) -> dict[int, str]:
    """The city's latest public words (answer or status note) per comment."""
    if not comment_ids:
        return {}
    q = (select(CommentEvent.comment_id, CommentEvent.public_text)
         .where(CommentEvent.comment_id.in_(comment_ids), CommentEvent.kind.in_(("status", "answer")),
                CommentEvent.public_text.is_not(None), CommentEvent.public_text != "")
         .order_by(CommentEvent.created_at, CommentEvent.id))
    with engine.connect() as conn:
        return {cid: text for cid, text in conn.execute(q).all()}


# --- retention ------------------------------------------------------------------------------------------------


def purge_personal_data(engine: Engine, retention_days: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """Forget emails and unredacted texts of comments older than ``retention_days``. Returns how many comments."""
    from datetime import timedelta

    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    cond = and_(Comment.created_at < cutoff, (Comment.email.is_not(None)) | (Comment.original_text.is_not(None)))
    with engine.begin() as conn:
        n = conn.scalar(select(func.count()).select_from(Comment).where(cond)) or 0
        if not dry_run and n:
            conn.execute(update(Comment).where(cond).values(email=None, original_text=None))
    return n
