"""Mail to citizens, as data: who asked for what (double opt-in), and the outbox of messages to send.

Nothing here talks to a mail server or renders a message: ``dashboard.mail`` renders each outbox row in its
subscription's language and sends it (``citydash notify``). What is kept, and why (README 'Email updates and
alerts'):

* ``mail_addresses``: the address, and when it asked to stop all mail (kept as a "do not mail" mark until
  the retention period has passed, so the forms cannot be used to pester it again at once);
* ``mail_subscriptions``: one per thing asked for (a comment as author or supporter, or an area alert), each
  confirmed by its own link (``confirm``). Until then the only mail it can cause is that confirmation request,
  and at most ``confirmations_per_day`` of those go to one address in 24 hours;
* ``mail_outbox``: one row per message, unique per event and subscription (``dedupe_key``), so an event can
  never queue the same mail twice.

Every function takes ``now`` so that tests (and the "was it fixed?" delay) can move time forward.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3
from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from data_sources.comments.emails import InvalidEmail, normalise_official_email
from data_sources.comments.records import CommentRejected
from data_sources.config import Settings
from data_sources.store.db import utcnow
from data_sources.store.models import Comment, District, MailAddress, MailOutbox, MailSubscription

CONFIRMATION_WINDOW = timedelta(days=1)
UNCONFIRMED_KEPT = timedelta(days=7)  # an unconfirmed subscription (and its link) is forgotten after this
FIXED_CHECK_WINDOW = timedelta(days=7)  # "was it fixed?" is asked between N and N+7 days after resolution
AREA_MAX_COMMENTS = 20  # comments listed in one alert mail; the rest are counted
FREQUENCIES = ("instant", "daily")
MAX_RADIUS_M = 5000


@dataclass(frozen=True)
class AreaFilter:
    """What an area alert matches: every filter given (at least one) must match a comment's public place."""

    district_id: int | None = None
    category: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    frequency: str = "instant"


@dataclass(frozen=True)
class Subscribed:
    subscription_id: int
    token: str
    confirmation_queued: bool
    already_confirmed: bool


def mail_address(email: str | None) -> str | None:
    """The address mail is kept and sent under: checked and normalised by email-validator (offline, the same rule
    as the report form's; data_sources.comments.emails), lower case; None when it is not a valid address."""
    try:
        return normalise_official_email(email or "")
    except InvalidEmail:
        return None


def _address_id(conn: Connection, email: str, now: datetime) -> int:
    aid = conn.scalar(select(MailAddress.id).where(MailAddress.email == email))
    if aid is None:
        aid = conn.execute(
            insert(MailAddress).values(email=email, created_at=now).returning(MailAddress.__table__.c.id)
        ).scalar_one()
    return aid


def enqueue(conn: Connection, kind: str, subscription_id: int, dedupe_key: str, params: dict, now: datetime) -> bool:
    """Queue one message unless one with the same ``dedupe_key`` exists; True when queued."""
    if conn.scalar(select(MailOutbox.id).where(MailOutbox.dedupe_key == dedupe_key)) is not None:
        return False
    conn.execute(
        insert(MailOutbox).values(
            created_at=now,
            kind=kind,
            subscription_id=subscription_id,
            dedupe_key=dedupe_key,
            params=params,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
    )
    return True


def _confirmations_sent(conn: Connection, address_id: int, now: datetime) -> int:
    return (
        conn.scalar(
            select(func.count())
            .select_from(MailOutbox)
            .join(MailSubscription, MailSubscription.id == MailOutbox.subscription_id)
            .where(
                MailSubscription.address_id == address_id,
                MailOutbox.kind == "confirm",
                MailOutbox.created_at > now - CONFIRMATION_WINDOW,
            )
        )
        or 0
    )


def subscribe(
    engine: Engine,
    email: str,
    kind: str,
    language: str,
    *,
    comment_id: int | None = None,
    area: AreaFilter | None = None,
    confirmations_per_day: int = 3,
    now: datetime | None = None,
) -> Subscribed | None:
    """Record that ``email`` asks for mail (``kind``: author, supporter or area) and queue the confirmation
    request (within the daily cap). None when the address is not valid. Asking again for the same comment
    returns the same subscription (and may re-send its confirmation request, within the cap)."""
    addr = mail_address(email)
    if addr is None:
        return None
    if kind not in ("author", "supporter", "area") or (kind == "area") != (area is not None):
        raise ValueError(f"bad subscription kind {kind!r}")
    now = now or utcnow()
    for attempt in range(3):
        try:
            return _subscribe(engine, addr, kind, language, comment_id, area, confirmations_per_day, now)
        except IntegrityError:
            # Requests for a new address (then for the same comment) at once: another one created the row; again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _subscribe(
    engine: Engine,
    addr: str,
    kind: str,
    language: str,
    comment_id: int | None,
    area: AreaFilter | None,
    confirmations_per_day: int,
    now: datetime,
) -> Subscribed:
    with engine.begin() as conn:
        aid = _address_id(conn, addr, now)
        stopped = conn.scalar(select(MailAddress.stopped_at).where(MailAddress.id == aid)) is not None
        row = None
        if comment_id is not None:
            row = conn.execute(
                select(
                    MailSubscription.id,
                    MailSubscription.token,
                    MailSubscription.confirmed_at,
                    MailSubscription.stopped_at,
                ).where(MailSubscription.address_id == aid, MailSubscription.comment_id == comment_id)
            ).first()
        if row is not None and row.stopped_at is None and row.confirmed_at is not None:
            return Subscribed(row.id, row.token, False, True)
        if row is not None:
            sid, token = row.id, row.token
            # Asked again after stopping: a new confirmation is needed.
            conn.execute(
                update(MailSubscription)
                .where(MailSubscription.id == sid)
                .values(stopped_at=None, confirmed_at=None, language=language)
            )
        else:
            token = secrets.token_urlsafe(24)
            values = {
                "address_id": aid,
                "token": token,
                "kind": kind,
                "comment_id": comment_id,
                "language": language,
                "created_at": now,
                "frequency": "instant",
                "last_comment_id": 0,
            }
            if area is not None:
                values.update(
                    district_id=area.district_id,
                    category=area.category,
                    lat=area.lat,
                    lon=area.lon,
                    radius_m=area.radius_m,
                    frequency=area.frequency,
                    last_comment_id=conn.scalar(select(func.max(Comment.id))) or 0,
                )
            sid = conn.execute(
                insert(MailSubscription).values(**values).returning(MailSubscription.__table__.c.id)
            ).scalar_one()
        queued = False
        if not stopped and _confirmations_sent(conn, aid, now) < confirmations_per_day:
            n = (
                conn.scalar(
                    select(func.count())
                    .select_from(MailOutbox)
                    .where(MailOutbox.subscription_id == sid, MailOutbox.kind == "confirm")
                )
                or 0
            )
            queued = enqueue(
                conn,
                "confirm",
                sid,
                f"confirm:{sid}:{n}",
                {"what": kind, "comment_id": comment_id, **(_area_params(conn, area) if area else {})},
                now,
            )
    return Subscribed(sid, token, queued, False)


def _area_params(conn: Connection, area: AreaFilter) -> dict:
    district = conn.scalar(select(District.name).where(District.id == area.district_id)) if area.district_id else None
    return {
        "district": district,
        "category": area.category,
        "radius_m": area.radius_m,
        "point": [area.lat, area.lon] if area.lat is not None else None,
        "frequency": area.frequency,
    }


Bounds = tuple[tuple[float, float], tuple[float, float]]


def validate_area(area: AreaFilter, categories: list[str], bounds: Bounds | None = None) -> AreaFilter:
    """Raise CommentRejected with a clear reason; return the filter when it is good."""
    if area.frequency not in FREQUENCIES:
        raise CommentRejected("frequency", "Choose how often.")
    if area.category is not None and area.category not in categories:
        raise CommentRejected("category", "Choose a category.")
    lat, lon, radius = area.lat, area.lon, area.radius_m
    if lat is not None or lon is not None or radius is not None:
        if (
            lat is None
            or lon is None
            or radius is None
            or not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < radius <= MAX_RADIUS_M)
        ):
            raise CommentRejected("point", "Give a point (latitude and longitude) and a radius in metres.")
        if bounds is not None:
            (s, w), (n, e) = bounds
            if not (s <= lat <= n and w <= lon <= e):
                raise CommentRejected("point", "That point is outside the city.")
    if area.district_id is None and area.category is None and area.lat is None:
        raise CommentRejected("area", "Choose a district, a category or a point.")
    return area


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    kind: str
    comment_id: int | None
    language: str
    confirmed: bool
    stopped: bool


def _by_token(conn: Connection, token: str) -> Row | None:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    return conn.execute(select(MailSubscription.__table__).where(MailSubscription.token == token)).first()


def lookup(engine: Engine, token: str) -> SubscriptionView | None:
    with engine.connect() as conn:
        s = _by_token(conn, token)
    if s is None:
        return None
    return SubscriptionView(
        s.id, s.kind, s.comment_id, s.language, s.confirmed_at is not None, s.stopped_at is not None
    )


def confirm(engine: Engine, token: str, now: datetime | None = None) -> SubscriptionView | None:
    """The citizen clicked the confirmation link: mail may now go to this subscription. None: unknown token."""
    now = now or utcnow()
    with engine.begin() as conn:
        s = _by_token(conn, token)
        if s is None:
            return None
        if s.confirmed_at is None and s.stopped_at is None:
            values: dict = {"confirmed_at": now}
            if s.kind == "area":  # alerts start from now, not from the day the form was sent
                values["last_comment_id"] = conn.scalar(select(func.max(Comment.id))) or 0
            conn.execute(update(MailSubscription).where(MailSubscription.id == s.id).values(**values))
            # An address that had stopped all mail and now confirms again has asked for this mail.
            conn.execute(update(MailAddress).where(MailAddress.id == s.address_id).values(stopped_at=None))
    return lookup(engine, token)


def unsubscribe(
    engine: Engine, token: str, scope: str = "this", now: datetime | None = None
) -> SubscriptionView | None:
    """Stop mail for this subscription (``scope`` "this") or to its address altogether ("all"); queued mail
    that has not gone yet is cancelled. Idempotent. None: unknown token."""
    now = now or utcnow()
    with engine.begin() as conn:
        s = _by_token(conn, token)
        if s is None:
            return None
        if scope == "all":
            conn.execute(update(MailAddress).where(MailAddress.id == s.address_id).values(stopped_at=now))
            subs = select(MailSubscription.id).where(MailSubscription.address_id == s.address_id)
            conn.execute(
                update(MailSubscription)
                .where(MailSubscription.address_id == s.address_id, MailSubscription.stopped_at.is_(None))
                .values(stopped_at=now)
            )
        else:
            subs = select(MailSubscription.id).where(MailSubscription.id == s.id)
            conn.execute(
                update(MailSubscription)
                .where(MailSubscription.id == s.id, MailSubscription.stopped_at.is_(None))
                .values(stopped_at=now)
            )
        conn.execute(
            update(MailOutbox)
            .where(MailOutbox.subscription_id.in_(subs), MailOutbox.status == "pending")
            .values(status="cancelled")
        )
    return lookup(engine, token)


def _active_comment_subscriptions(conn: Connection, comment_id: int, kinds: tuple[str, ...]) -> list[int]:
    q = (
        select(MailSubscription.id)
        .join(MailAddress, MailAddress.id == MailSubscription.address_id)
        .where(
            MailSubscription.comment_id == comment_id,
            MailSubscription.kind.in_(kinds),
            MailSubscription.confirmed_at.is_not(None),
            MailSubscription.stopped_at.is_(None),
            MailAddress.stopped_at.is_(None),
        )
    )
    return list(conn.scalars(q))


def enqueue_comment_update(
    conn: Connection,
    comment_id: int,
    event_id: int,
    to_status: str,
    closed_reason: str | None,
    answer: str,
    now: datetime,
) -> int:
    """Inside the workflow's transaction: queue the public status change and the city's answer for the
    comment's confirmed author and supporters. Returns how many messages were queued."""
    kind = "closed" if to_status == "closed" else "update"
    params = {"comment_id": comment_id, "status": to_status, "closed_reason": closed_reason, "answer": answer}
    return sum(
        enqueue(conn, kind, sid, f"{kind}:{event_id}:{sid}", params, now)
        for sid in _active_comment_subscriptions(conn, comment_id, ("author", "supporter"))
    )


def schedule_fixed_checks(engine: Engine, days: int, now: datetime | None = None) -> int:
    """Queue "was it fixed?" for the confirmed authors of comments resolved between ``days`` and
    ``days`` + 7 days ago (once per resolution). Returns how many were queued."""
    now = now or utcnow()
    due_before, due_after = now - timedelta(days=days), now - timedelta(days=days) - FIXED_CHECK_WINDOW
    q = (
        select(Comment.id, Comment.resolved_at, MailSubscription.id.label("sid"))
        .join(MailSubscription, MailSubscription.comment_id == Comment.id)
        .join(MailAddress, MailAddress.id == MailSubscription.address_id)
        .where(
            Comment.status == "resolved",
            Comment.resolved_at <= due_before,
            Comment.resolved_at > due_after,
            MailSubscription.kind == "author",
            MailSubscription.confirmed_at.is_not(None),
            MailSubscription.stopped_at.is_(None),
            MailAddress.stopped_at.is_(None),
        )
    )
    n = 0
    with engine.begin() as conn:
        for cid, resolved_at, sid in conn.execute(q).all():
            assert resolved_at is not None  # the query asks for resolved comments
            n += enqueue(
                conn,
                "fixed_check",
                sid,
                f"fixed:{cid}:{resolved_at.isoformat()}",
                {"comment_id": cid, "resolved_at": resolved_at.isoformat()},
                now,
            )
    return n


def area_matches(sub: Any, c: Any) -> bool:
    """Does a published comment (at its public location) match an area alert? Pure. ``sub`` and ``c``: rows (or
    any objects) with the subscription's filters and the comment's public fields."""
    if sub.district_id is not None and c.district_id != sub.district_id:
        return False
    if sub.category is not None and c.category != sub.category:
        return False
    if sub.lat is not None and sub.radius_m is not None:
        d = h3.great_circle_distance((sub.lat, sub.lon), (c.public_lat, c.public_lon), unit="m")
        if d > sub.radius_m:
            return False
    return True


def schedule_area_alerts(engine: Engine, now: datetime | None = None) -> int:
    """Queue an alert per confirmed area subscription with new published comments that match: at once
    ("instant", each run of the worker) or once a day ("daily"). Returns how many were queued."""
    now = now or utcnow()
    n = 0
    with engine.begin() as conn:
        subs = conn.execute(
            select(MailSubscription.__table__)
            .join(MailAddress, MailAddress.id == MailSubscription.address_id)
            .where(
                MailSubscription.kind == "area",
                MailSubscription.confirmed_at.is_not(None),
                MailSubscription.stopped_at.is_(None),
                MailAddress.stopped_at.is_(None),
            )
        ).all()
        for s in subs:
            if s.frequency == "daily" and s.last_sent_at is not None and s.last_sent_at > now - timedelta(days=1):
                continue
            q = (
                select(
                    Comment.id,
                    Comment.created_at,
                    Comment.category,
                    Comment.text,
                    Comment.district_id,
                    Comment.public_lat,
                    Comment.public_lon,
                    District.name.label("district"),
                )
                .outerjoin(District, District.id == Comment.district_id)
                .where(Comment.id > s.last_comment_id, Comment.moderation == "published")
                .order_by(Comment.id)
            )
            if s.category is not None:
                q = q.where(Comment.category == s.category)
            if s.district_id is not None:
                q = q.where(Comment.district_id == s.district_id)
            rows = conn.execute(q.limit(5000)).all()
            if not rows:
                continue
            newest = max(r.id for r in rows)
            found = [r for r in rows if area_matches(s, r)]
            values: dict = {"last_comment_id": newest}
            if found:
                shown = [
                    {
                        "id": r.id,
                        "category": r.category,
                        "district": r.district,
                        "text": r.text,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in found[:AREA_MAX_COMMENTS]
                ]
                n += enqueue(
                    conn,
                    "area",
                    s.id,
                    f"area:{s.id}:{newest}",
                    {"comments": shown, "more": len(found) - len(shown), "frequency": s.frequency},
                    now,
                )
                values["last_sent_at"] = now
            conn.execute(update(MailSubscription).where(MailSubscription.id == s.id).values(**values))
    return n


def purge_mail(engine: Engine, retention_days: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """Forget subscriptions to comments older than the retention period, stopped ones older than it,
    unconfirmed ones after a week, and then every address left with nothing (a "stop all" mark is kept for the
    retention period). Their queued and sent messages go with them. Returns how many addresses were forgotten."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    old_comments = select(Comment.id).where(Comment.created_at < cutoff)
    # Each test says IS NOT NULL first: NOT (NULL OR ...) would keep nothing.
    gone = or_(
        and_(MailSubscription.comment_id.is_not(None), MailSubscription.comment_id.in_(old_comments)),
        and_(MailSubscription.stopped_at.is_not(None), MailSubscription.stopped_at < cutoff),
        and_(MailSubscription.confirmed_at.is_(None), MailSubscription.created_at < now - UNCONFIRMED_KEPT),
    )
    with engine.begin() as conn:
        keep = select(MailSubscription.address_id).where(~gone)
        addr_cond = and_(
            MailAddress.id.not_in(keep), or_(MailAddress.stopped_at.is_(None), MailAddress.stopped_at < cutoff)
        )
        n = conn.scalar(select(func.count()).select_from(MailAddress).where(addr_cond)) or 0
        if dry_run:
            return n
        doomed = list(conn.scalars(select(MailSubscription.id).where(gone)))
        if doomed:
            conn.execute(delete(MailOutbox).where(MailOutbox.subscription_id.in_(doomed)))
            conn.execute(delete(MailSubscription).where(MailSubscription.id.in_(doomed)))
        ids = list(conn.scalars(select(MailAddress.id).where(addr_cond)))
        if ids:
            conn.execute(
                delete(MailOutbox).where(
                    MailOutbox.subscription_id.in_(
                        select(MailSubscription.id).where(MailSubscription.address_id.in_(ids))
                    )
                )
            )
            conn.execute(delete(MailSubscription).where(MailSubscription.address_id.in_(ids)))
            conn.execute(delete(MailAddress).where(MailAddress.id.in_(ids)))
        # Sent mail older than the retention period: its text is not needed any more.
        conn.execute(
            delete(MailOutbox).where(MailOutbox.status.in_(("sent", "cancelled")), MailOutbox.created_at < cutoff)
        )
    return len(ids)


# --- the outbox, for the sender (dashboard.mail) ----------------------------------------------------------------

STALE_SENDING = timedelta(minutes=10)  # a row "sending" for longer was left by a worker that died mid-send
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, ... up to 6 hours between tries of a message that failed ``attempts`` times."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


@dataclass
class OutboxItem:
    id: int
    kind: str
    params: dict
    message_id: str | None
    attempts: int
    email: str
    token: str
    language: str
    comment_id: int | None
    confirmed: bool


def mark_stale_uncertain(engine: Engine, now: datetime) -> int:
    """Rows left "sending" by a worker that died: perhaps sent, perhaps not. They become "uncertain" and are
    NOT resent by themselves (at most once); ``requeue_uncertain`` sends them again with the same Message-ID."""
    with engine.begin() as conn:
        return conn.execute(
            update(MailOutbox)
            .where(MailOutbox.status == "sending", MailOutbox.sending_at < now - STALE_SENDING)
            .values(status="uncertain")
        ).rowcount


def requeue_uncertain(engine: Engine, now: datetime) -> int:
    with engine.begin() as conn:
        return conn.execute(
            update(MailOutbox).where(MailOutbox.status == "uncertain").values(status="pending", next_attempt_at=now)
        ).rowcount


def due(engine: Engine, now: datetime, limit: int = 100) -> list[OutboxItem]:
    """Pending messages whose time has come, oldest first, with their recipient. Messages that may no longer
    go (the subscription or address stopped, an update for an unconfirmed subscription, a confirmation request
    for a confirmed one) are cancelled."""
    q = (
        select(
            MailOutbox.id,
            MailOutbox.kind,
            MailOutbox.params,
            MailOutbox.message_id,
            MailOutbox.attempts,
            MailAddress.email,
            MailAddress.stopped_at.label("addr_stopped"),
            MailSubscription.token,
            MailSubscription.language,
            MailSubscription.comment_id,
            MailSubscription.confirmed_at,
            MailSubscription.stopped_at,
        )
        .join(MailSubscription, MailSubscription.id == MailOutbox.subscription_id)
        .join(MailAddress, MailAddress.id == MailSubscription.address_id)
        .where(MailOutbox.status == "pending", MailOutbox.next_attempt_at <= now)
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
        .limit(limit)
    )
    out, cancel = [], []
    with engine.connect() as conn:
        for r in conn.execute(q).all():
            confirmed = r.confirmed_at is not None
            # a confirmation request for a subscription confirmed meanwhile has nothing left to ask
            if r.addr_stopped is not None or r.stopped_at is not None or (r.kind == "confirm") == confirmed:
                cancel.append(r.id)
                continue
            out.append(
                OutboxItem(
                    r.id,
                    r.kind,
                    r.params or {},
                    r.message_id,
                    r.attempts,
                    r.email,
                    r.token,
                    r.language,
                    r.comment_id,
                    r.confirmed_at is not None,
                )
            )
    if cancel:
        with engine.begin() as conn:
            conn.execute(
                update(MailOutbox)
                .where(MailOutbox.id.in_(cancel), MailOutbox.status == "pending")
                .values(status="cancelled")
            )
    return out


def claim(engine: Engine, item: OutboxItem, message_id: str, now: datetime) -> bool:
    """Mark a message "sending" before it goes (committed), with its Message-ID kept from the first try.
    False when another worker took it first."""
    with engine.begin() as conn:
        ok = (
            conn.execute(
                update(MailOutbox)
                .where(MailOutbox.id == item.id, MailOutbox.status == "pending")
                .values(
                    status="sending",
                    sending_at=now,
                    attempts=MailOutbox.attempts + 1,
                    message_id=func.coalesce(MailOutbox.message_id, message_id),
                )
            ).rowcount
            == 1
        )
        if ok:
            item.message_id = conn.scalar(select(MailOutbox.message_id).where(MailOutbox.id == item.id))
            item.attempts += 1
    return ok


def mark_sent(engine: Engine, item: OutboxItem, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(MailOutbox).where(MailOutbox.id == item.id).values(status="sent", sent_at=now, last_error=None)
        )


def mark_failed(engine: Engine, item: OutboxItem, error: str, now: datetime) -> None:
    """The server refused or could not be reached: back to pending, tried again after a growing pause."""
    with engine.begin() as conn:
        conn.execute(
            update(MailOutbox)
            .where(MailOutbox.id == item.id)
            .values(status="pending", next_attempt_at=now + backoff(item.attempts), last_error=error[:500])
        )


def outbox_summary(engine: Engine, now: datetime | None = None) -> dict:
    """Counts per state and the age of the oldest pending message (for /healthz)."""
    now = now or utcnow()
    with engine.connect() as conn:
        counts = dict(conn.execute(select(MailOutbox.status, func.count()).group_by(MailOutbox.status)).all())
        oldest = conn.scalar(select(func.min(MailOutbox.created_at)).where(MailOutbox.status == "pending"))
    return {
        "pending": counts.get("pending", 0),
        "sending": counts.get("sending", 0),
        "uncertain": counts.get("uncertain", 0),
        "sent": counts.get("sent", 0),
        "oldest_pending_seconds": round((now - oldest).total_seconds()) if oldest else None,
    }


def missing_settings(settings: Settings) -> list[str]:
    """The mail settings that are not set (empty: mail can be sent)."""
    return [
        var
        for var, value in (
            ("CITYDASH_SMTP_URL", settings.smtp_url),
            ("CITYDASH_MAIL_FROM", settings.mail_from),
            ("CITYDASH_PUBLIC_URL", settings.public_url),
        )
        if not value
    ]
