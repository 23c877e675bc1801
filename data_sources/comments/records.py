"""Citizens' comments: validation, privacy and the one way a comment enters the store.

Every entry point (the feedback panel, its Dash callback, Open311 ``POST requests``, imports) goes through
``submit_comment`` so that validation, PII redaction, moderation and rate of acceptance are the same everywhere.
A comment acknowledged to a citizen is committed: ``submit_comment`` returns only after the transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import h3
from sqlalchemy import Connection, DateTime, Engine, and_, func, insert, literal, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from data_sources.comments.emails import InvalidEmail, normalise_email
from data_sources.store.paging import decode_cursor, encode_cursor
from data_sources.comments.photo_records import PhotoError, attach, valid_ids
from data_sources.comments.routing import department_subquery, ensure_department, routed_department
from data_sources.config import CityConfig
from data_sources.store.db import cell_districts, district_locator, h3_cells, utcnow
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

# Comment events whose public_text anyone may read (assignments, moderation and notes stay internal).
PUBLIC_EVENT_KINDS = ("status", "answer")
# The author's answers to "was it fixed?" (data_sources.comments.workflow.citizen_answer_fixed), shown in the history too.
CITIZEN_EVENT_KINDS = ("fixed_confirmed", "reopened")
MIN_TEXT = 10
MAX_TEXT = 2000
MAX_EMAIL = 320
MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds: anything above is no row, not a database error
# Public views show the centre of the H3 cell at this resolution (~170 m across), never the exact point.
PUBLIC_RESOLUTION = 9

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of 9+ digits with the usual separators: phone numbers, not dates, times or house numbers.
PHONE_RE = re.compile(r"(?<!\w)\+?(?:\d[\s().\-/]{0,2}){8,}\d(?!\w)")


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
    photo_ids: tuple[str, ...] = ()  # pending uploads (data_sources.comments.photo_records) sent with this comment


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


def as_id(value: object) -> int | None:
    """A row id from untrusted input (an int, or a string of ASCII digits), or None when it cannot be one:
    "²".isdigit() is True and int() takes it; 2**64 overflows a BIGINT; a float or a bool is not an id."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    return None


def _storable(value: str) -> bool:
    """Printable and encodable as UTF-8 (a lone surrogate or a NUL cannot be stored in PostgreSQL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return value.isprintable()


def validate(inp: CommentInput, city: Any) -> CommentInput:
    """Raise CommentRejected with the first problem; return a normalised copy otherwise."""
    try:
        lat, lon = float(inp.lat), float(inp.lon)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond a float (a 400-digit latitude)
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
    # The limit holds for what is stored and shown: the redacted text, where "[email removed]" can be longer
    # than the address it replaces (a text full of short addresses grew from 1,994 to 4,559 characters).
    published = redact_pii(text)[0]
    if len(published) > MAX_TEXT:
        raise CommentRejected(
            "text",
            "With email addresses and phone numbers removed, your text is {m} characters; write at most {n}.",
            n=MAX_TEXT,
            m=len(published),
        )
    email = inp.email.strip() if isinstance(inp.email, str) else inp.email
    if email:
        try:
            if len(email) > MAX_EMAIL:
                raise InvalidEmail("too long")
            email = normalise_email(email)  # email-validator, offline; InvalidEmail for a non-string too
        except (InvalidEmail, TypeError):
            raise CommentRejected(
                "email", "That email address does not look right; leave it empty if you prefer."
            ) from None
    email = email or None
    key = inp.client_key
    if key is not None and (not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_\-:.]{8,100}", key)):
        raise CommentRejected("client_key", "Invalid request.")
    if inp.status not in COMMENT_STATUSES or (inp.status == "closed") != bool(inp.closed_reason):
        raise CommentRejected("status", "Invalid request.")
    fid = inp.feature_id
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, int) or not 1 <= fid <= MAX_ID):
        raise CommentRejected("feature", "That map feature no longer exists; choose a place instead.")
    # The other stored strings come from the server (language, origin, an import's closed reason); still, every
    # stored field is checked against its column here rather than failing in the database.
    for name, value, size in (
        ("language", inp.language, 8),
        ("origin", inp.origin, 100),
        ("closed_reason", inp.closed_reason, 50),
    ):
        if value is not None and (not isinstance(value, str) or len(value) > size or not _storable(value)):
            raise CommentRejected(name, "Invalid request.")
    return CommentInput(
        lat=lat,
        lon=lon,
        category=inp.category,
        text=text,
        email=email,
        feature_id=inp.feature_id,
        language=inp.language,
        client_key=key,
        origin=inp.origin,
        evidence=inp.evidence,
        created_at=inp.created_at,
        status=inp.status,
        closed_reason=inp.closed_reason,
        extra=inp.extra,
        photo_ids=_photo_ids(inp.photo_ids, city),
    )


def _photo_ids(photo_ids: object, city: CityConfig) -> tuple[str, ...]:
    try:
        return valid_ids(photo_ids, city.feedback.max_photos)
    except PhotoError as e:
        raise CommentRejected("photos", str(e.args[0]), n=city.feedback.max_photos) from None


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


def submit_comment(
    engine: Engine, city: CityConfig, inp: CommentInput, hold_for_review: Callable[[str], bool] | None = needs_review
) -> SubmitResult:
    """Validate, redact, store and commit one comment. ``hold_for_review(text) -> bool`` decides moderation.

    The evidence (nearest relevant reading for that place and hour) is looked up here unless the caller brings
    its own (imports keep theirs)."""
    c = validate(inp, city)
    text, redacted = redact_pii(c.text)
    held = bool(hold_for_review and hold_for_review(c.text))
    token = secrets.token_urlsafe(24)
    now = utcnow()
    plat, plon = public_location(c.lat, c.lon)
    cells = h3_cells(c.lat, c.lon)
    # Everything anyone else may see is derived from the public cell, never from the exact point: the district
    # (of the whole cell) and the evidence (nearest reading and its distance, from the public point).
    district = int(cell_districts(district_locator(engine), [cells[f"h3_r{PUBLIC_RESOLUTION}"]])[0]) or None
    if c.feature_id is not None:
        with engine.connect() as conn:
            if conn.scalar(select(Feature.id).where(Feature.id == c.feature_id)) is None:
                raise CommentRejected("feature", "That map feature no longer exists; choose a place instead.")
    if c.evidence is None:
        from data_sources.comments.evidence import nearest_reading

        c.evidence = nearest_reading(engine, plat, plon, c.category, c.created_at or now, c.feature_id)
    row = {
        "created_at": c.created_at or now,
        "updated_at": now,
        "lat": c.lat,
        "lon": c.lon,
        "public_lat": plat,
        "public_lon": plon,
        **cells,
        "district_id": district,
        "feature_id": c.feature_id,
        "category": c.category,
        "text": text,
        "original_text": c.text if redacted else None,
        "language": c.language,
        "status": c.status,
        "closed_reason": c.closed_reason,
        "moderation": "held" if held else "published",
        "moderation_reason": "automatic check" if held else None,
        "email": c.email,
        "tracking_token_hash": token_hash(token),
        "evidence": c.evidence,
        "origin": c.origin,
        "client_key": c.client_key,
    }
    table = Comment.__table__
    try:
        # One INSERT is its own transaction, with the triggers it fires: committed when execute returns, without a
        # BEGIN and a COMMIT of its own (two round trips less per comment on PostgreSQL); a comment with photos
        # is one transaction with them, so that a refused photo stores nothing. The department (routing, README
        # "Routing to departments") is looked up by name inside the same INSERT.
        opened = engine.begin() if c.photo_ids else engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with opened as conn:
            dept = routed_department(conn, city.routing, c.category, district)
            stmt = insert(table).returning(table.c.id, table.c.department_id)
            if dept is not None:
                stmt = stmt.values(department_id=department_subquery(dept))
            cid, dept_id = conn.execute(stmt, row).one()
            if c.photo_ids:
                attach(conn, cid, c.photo_ids)
        if dept is not None and dept_id is None:
            # A department the TOML names but the store does not hold yet: create it and assign, once.
            with engine.begin() as conn:
                conn.execute(update(table).where(table.c.id == cid).values(department_id=ensure_department(conn, dept)))
    except PhotoError as e:
        raise CommentRejected("photos", str(e.args[0])) from None
    except IntegrityError:
        if c.client_key is None:
            raise
        # The same submission again (a retry after a lost answer): hand back the first one, add nothing.
        with engine.connect() as conn:
            existing = conn.execute(
                select(Comment.id, Comment.moderation).where(Comment.client_key == c.client_key)
            ).one()
        return SubmitResult(existing.id, None, existing.moderation, redacted, duplicate_of_retry=True)
    if c.email and (c.origin == "web" or c.origin.startswith("open311:")):
        # Imported from the notifications module here: it builds on this one (validation, CommentRejected).
        from data_sources.comments.notifications import subscribe

        # The author's updates start with a confirmation request (double opt-in); imports never mail anyone.
        subscribe(
            engine,
            c.email,
            "author",
            c.language or city.city.default_language,
            comment_id=cid,
            confirmations_per_day=city.feedback.confirmations_per_day,
            now=now,
        )
    return SubmitResult(cid, token, row["moderation"], redacted)


# --- supports ("me too") and flags: one per browser and one per client address per comment ---------------------
#
# A browser id is minted by the browser (local storage), so a script can mint as many as it likes; an address
# costs more. A vote counts once per browser id and once per address (its keyed hash), and a flag hides a
# comment only when ``threshold`` different addresses flagged it within the city's window.

BROWSER_ID_RE = re.compile(r"[A-Za-z0-9_\-]{16,100}")


def client_hash(kind: str, browser_id: str) -> str:
    """The stored stand-in for a browser: a random id from the browser's local storage, hashed."""
    if not isinstance(browser_id, str) or not BROWSER_ID_RE.fullmatch(browser_id):
        raise CommentRejected("browser", "Your browser did not send its id; reload the page and try again.")
    return hashlib.sha256(f"{kind}:{browser_id}".encode()).hexdigest()


def client_network(address: str | None) -> str:
    """The unit an address counts as: an IPv4 address, or the /64 network of an IPv6 address (one subscriber
    usually holds a whole /64, so its 2^64 addresses are one client). Anything unparsable is kept as it is."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (address or "")[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def address_hash(key: bytes, address: str | None) -> str:
    """A keyed hash (HMAC-SHA256) of a client's address: equal for one address under one key, and not
    reversible without the key by trying the 2^32 IPv4 addresses. The address itself is never stored."""
    return hmac.new(key, client_network(address).encode(), hashlib.sha256).hexdigest()


@dataclass
class VoteResult:
    added: bool  # False: this browser, or someone at this address, had already done it
    count: int
    hidden: bool = False  # a flag that reached the threshold hid the comment


def _published(conn: Connection, comment_id: int) -> None:
    if (
        not 1 <= comment_id <= MAX_ID
        or conn.scalar(select(Comment.moderation).where(Comment.id == comment_id)) != "published"
    ):
        raise CommentRejected("comment", "That comment is not available.")


CLOSED_SUPPORT = (
    'This comment is resolved or closed, so it takes no more "me too". If the problem is back, send a new comment.'
)


def add_support(engine: Engine, comment_id: int, browser_id: str, address: str) -> VoteResult:
    """Count one "me too" per browser and per address (``address``: its keyed hash) per comment, on an open
    comment only (a resolved or closed one is refused with ``CLOSED_SUPPORT``); committed before returning. The
    table's two unique constraints decide, so two concurrent votes cannot both count."""
    h = client_hash("support", browser_id)
    try:
        with engine.begin() as conn:
            _published(conn, comment_id)
            if conn.scalar(select(Comment.status).where(Comment.id == comment_id)) not in OPEN_STATUSES:
                raise CommentRejected("comment", CLOSED_SUPPORT)
            conn.execute(
                insert(Support).values(comment_id=comment_id, client_hash=h, address_hash=address, created_at=utcnow())
            )
            count = conn.execute(
                update(Comment)
                .where(Comment.id == comment_id)
                .values(support_count=Comment.support_count + 1)
                .returning(Comment.support_count)
            ).scalar_one()
        return VoteResult(True, count)
    except IntegrityError:
        with engine.connect() as conn:
            return VoteResult(False, conn.scalar(select(Comment.support_count).where(Comment.id == comment_id)) or 0)


FLAG_REASONS = ("abusive", "personal_data", "spam", "other")


def flag_comment(
    engine: Engine,
    comment_id: int,
    browser_id: str,
    reason: str | None,
    threshold: int,
    address: str,
    window_hours: int = 72,
) -> VoteResult:
    """Record one flag per browser and per address (``address``: its keyed hash); when ``threshold`` different
    addresses have flagged the comment within the last ``window_hours``, it is hidden pending a moderator's
    review (the moderation queue lists it)."""
    h = client_hash("flag", browser_id)
    reason = reason if isinstance(reason, str) and reason in FLAG_REASONS else "other"
    now = utcnow()
    try:
        with engine.begin() as conn:
            _published(conn, comment_id)
            conn.execute(
                insert(Flag).values(
                    comment_id=comment_id, client_hash=h, address_hash=address, reason=reason, created_at=now
                )
            )
            count = conn.execute(
                update(Comment)
                .where(Comment.id == comment_id)
                .values(flag_count=Comment.flag_count + 1)
                .returning(Comment.flag_count)
            ).scalar_one()
            addresses = (
                conn.scalar(
                    select(func.count(func.distinct(Flag.address_hash))).where(
                        Flag.comment_id == comment_id, Flag.created_at >= now - timedelta(hours=window_hours)
                    )
                )
                or 0
            )
            hidden = False
            if addresses >= threshold:
                # Conditional update: of two concurrent flags reaching the threshold, one hides and logs it.
                hidden = (
                    conn.execute(
                        update(Comment)
                        .where(Comment.id == comment_id, Comment.moderation == "published")
                        .values(
                            moderation="hidden",
                            updated_at=now,
                            moderation_reason=f"hidden after flags from {addresses} addresses",
                        )
                    ).rowcount
                    == 1
                )
                if hidden:
                    conn.execute(
                        insert(CommentEvent).values(
                            comment_id=comment_id,
                            created_at=now,
                            kind="moderation",
                            internal_text=f"hidden automatically after flags from {addresses} addresses within "
                            f"{window_hours} h, pending review",
                        )
                    )
        return VoteResult(True, count, hidden)
    except IntegrityError:
        with engine.connect() as conn:
            return VoteResult(False, conn.scalar(select(Comment.flag_count).where(Comment.id == comment_id)) or 0)


# --- duplicates: open comments of the same category nearby ----------------------------------------------------
#
# Anyone may ask, for any pin, which comments are nearby: so the answer is a function of public cells only. The
# pin is reduced to its H3 r9 cell, each comment is taken at its public cell, and the order is by grid distance
# between cells, then supports, then id. Moving the pin inside a cell changes nothing, so probing learns no more
# than the public cell that every comment's page already shows (tests/dashboard/test_location_oracles.py).

# An H3 r9 cell's inscribed radius is ~150 m: points within that distance are in the same cell or a neighbour.
_R9_INNER_M = 150


def duplicate_rings(radius_m: float) -> int:
    """How many rings of r9 cells around the pin's cell hold every point within ``radius_m`` of the pin."""
    return 1 + int(radius_m // _R9_INNER_M)


def rank_duplicates(candidates: list[dict], cell: int, rings: int, limit: int = 5) -> list[dict]:
    """Candidates (with their public cell ``h3_r9``) within ``rings`` cells of ``cell``: the nearest cells first,
    then the most supported, then the oldest. Pure, and a function of cells only (never of an exact point)."""
    origin = h3.int_to_str(int(cell))
    out = []
    for c in candidates:
        try:
            d = h3.grid_distance(origin, h3.int_to_str(int(c["h3_r9"])))
        except (h3.H3BaseException, TypeError, ValueError):
            continue  # no public cell, or too far apart for H3 to measure: not a neighbour
        if d <= rings:
            out.append((d, -c.get("support_count", 0), c["id"], c))
    out.sort(key=lambda t: t[:3])
    return [t[3] for t in out[:limit]]


def find_duplicates(
    engine: Engine, lat: float, lon: float, category: str, radius_m: float = 100, limit: int = 5
) -> list[dict]:
    """Open, published comments of ``category`` whose public cell is within reach of the pin's cell (see
    ``duplicate_rings``): public fields only, and the same answer for every pin in the same r9 cell."""
    try:
        cell = h3.latlng_to_cell(float(lat), float(lon), PUBLIC_RESOLUTION)
    except (TypeError, ValueError, h3.H3BaseException):
        return []
    rings = duplicate_rings(radius_m)
    cells = [h3.str_to_int(c) for c in h3.grid_disk(cell, rings)]
    q = select(
        Comment.id, Comment.h3_r9, Comment.text, Comment.status, Comment.support_count, Comment.created_at
    ).where(
        Comment.h3_r9.in_(cells),
        Comment.category == category,
        Comment.moderation == "published",
        Comment.status.in_(OPEN_STATUSES),
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    ranked = rank_duplicates(rows, h3.str_to_int(cell), rings, limit)
    return [{k: v for k, v in r.items() if k != "h3_r9"} for r in ranked]


# --- public reads: never the exact location, the email or the unredacted text ------------------------------

PUBLIC_FIELDS = (
    Comment.id,
    Comment.created_at,
    Comment.updated_at,
    Comment.public_lat,
    Comment.public_lon,
    Comment.h3_r9,
    Comment.district_id,
    Comment.feature_id,
    Comment.category,
    Comment.text,
    Comment.status,
    Comment.closed_reason,
    Comment.moderation,
    Comment.support_count,
    Comment.evidence,
    Comment.resolved_at,
    District.name.label("district"),
)


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
    q = (
        select(
            CommentEvent.id,
            CommentEvent.created_at,
            CommentEvent.kind,
            CommentEvent.from_status,
            CommentEvent.to_status,
            CommentEvent.public_text,
        )
        .where(CommentEvent.comment_id == comment_id, CommentEvent.kind.in_(PUBLIC_EVENT_KINDS + CITIZEN_EVENT_KINDS))
        .order_by(CommentEvent.created_at, CommentEvent.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def published_comments(
    engine: Engine,
    *,
    district_id: int | None = None,
    category: str | None = None,
    status: str | None = None,
    limit: int = 50,
    order_by_resolved: bool = False,
    after: tuple[datetime, int] | None = None,
) -> list[dict]:
    """Published comments, latest update first (or latest resolution). ``after``: keyset paging, the
    (updated_at, id) of the last comment of the page before (``UPDATED_CURSOR``; not with order_by_resolved)."""
    cond = [Comment.moderation == "published"]
    if after is not None:
        cond.append(tuple_(Comment.updated_at, Comment.id) < tuple_(literal(after[0], DateTime()), after[1]))
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


UPDATED_CURSOR = ("datetime", "int")  # (updated_at, id) of the last comment shown (the Atom feeds)
RESOLVED_CURSOR = ("datetime?", "int")  # (resolved_at, id) of the last comment shown


def resolved_page(
    engine: Engine, *, category: str | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict], str | None]:
    """One page of "you said, we did": published resolved comments, latest resolution first, then those resolved
    without a recorded time (imports), newest first; paged by keyset (``data_sources.store.paging``). Returns
    the comments and the cursor of the next (older) page, None at the end. Raises BadCursor for a bad cursor."""
    after = decode_cursor(cursor, RESOLVED_CURSOR) if cursor is not None else None
    base = [Comment.moderation == "published", Comment.status == "resolved"]
    if category is not None:
        base.append(Comment.category == category)
    rows: list[dict] = []
    with engine.connect() as conn:
        if after is None or after[0] is not None:
            cond = [*base, Comment.resolved_at.is_not(None)]
            if after is not None:
                cond.append(tuple_(Comment.resolved_at, Comment.id) < tuple_(literal(after[0], DateTime()), after[1]))
            q = _public_query().where(*cond).order_by(Comment.resolved_at.desc(), Comment.id.desc())
            rows += [dict(r._mapping) for r in conn.execute(q.limit(limit + 1))]
        if len(rows) <= limit:
            cond = [*base, Comment.resolved_at.is_(None)]
            if after is not None and after[0] is None:
                cond.append(Comment.id < after[1])
            q = _public_query().where(*cond).order_by(Comment.id.desc()).limit(limit + 1 - len(rows))
            rows += [dict(r._mapping) for r in conn.execute(q)]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1]["resolved_at"], rows[-1]["id"]])


def latest_public_answers(engine: Engine, comment_ids: list[int]) -> dict[int, str]:
    """The city's latest public words (answer or status note) per comment."""
    if not comment_ids:
        return {}
    q = (
        select(CommentEvent.comment_id, CommentEvent.public_text)
        .where(
            CommentEvent.comment_id.in_(comment_ids),
            CommentEvent.kind.in_(("status", "answer")),
            CommentEvent.public_text.is_not(None),
            CommentEvent.public_text != "",
        )
        .order_by(CommentEvent.created_at, CommentEvent.id)
    )
    with engine.connect() as conn:
        return {cid: text for cid, text in conn.execute(q).all()}


# --- retention ------------------------------------------------------------------------------------------------


def purge_personal_data(
    engine: Engine,
    retention_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
    address_retention_days: int | None = None,
) -> int:
    """Forget emails and unredacted texts of comments older than ``retention_days``, and the address hashes of
    supports and flags older than ``address_retention_days`` (when given). Returns how many comments."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    cond = and_(Comment.created_at < cutoff, (Comment.email.is_not(None)) | (Comment.original_text.is_not(None)))
    with engine.begin() as conn:
        n = conn.scalar(select(func.count()).select_from(Comment).where(cond)) or 0
        if not dry_run and n:
            conn.execute(update(Comment).where(cond).values(email=None, original_text=None))
        if not dry_run and address_retention_days is not None:
            purge_address_hashes(conn, now - timedelta(days=address_retention_days))
    return n


def purge_address_hashes(conn: Connection, before: datetime) -> None:
    """Forget which address supported or flagged a comment before ``before`` (the votes themselves stay)."""
    for table in (Support, Flag):
        conn.execute(
            update(table).where(table.created_at < before, table.address_hash.is_not(None)).values(address_hash=None)
        )
