"""Photos on comments: the records beside the bytes.

A photo is uploaded on its own (``upload_photo``: made safe by ``data_sources.comments.photos``, stored in the media
store, recorded as "pending"), then sent with its comment (``submit_comment`` attaches pending photos by id in
the comment's own transaction). It is public only while it is attached, not hidden, and its comment is published
(``public_photo_name``). Officials hide a photo with a reason or blur a region of it; each is audited. Pending
photos that were never sent, and photos of comments that were never published, are deleted by
``purge_photos``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from data_sources.comments.photos import PhotoLimits, blur_region, process_photo
from data_sources.store.db import utcnow
from data_sources.store.media import MediaStore
from data_sources.store.models import AuditEntry, Comment, Photo

if TYPE_CHECKING:
    from data_sources.comments.workflow import Actor

PHOTO_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,32}")
PENDING_FOR = timedelta(days=1)  # an upload not sent with a comment within a day is deleted
JPEG = "image/jpeg"


class PhotoError(ValueError):
    """A refused photo action, with an English message id."""


def names(photo_id: str) -> tuple[str, str]:
    """The media names of a photo: full size and thumbnail."""
    return f"{photo_id}.jpg", f"{photo_id}.thumb.jpg"


def upload_photo(
    engine: Engine, media: MediaStore, data: bytes, limits: PhotoLimits | None = None, now: datetime | None = None
) -> str:
    """Make the bytes safe, store them and record a pending photo; returns its id. Raises ``PhotoRejected``."""
    processed = process_photo(data, limits)
    photo_id = secrets.token_urlsafe(16)
    full, thumb = names(photo_id)
    media.put(full, processed.full, JPEG)
    media.put(thumb, processed.thumb, JPEG)
    with engine.begin() as conn:
        conn.execute(
            insert(Photo).values(
                id=photo_id,
                created_at=now or utcnow(),
                state="pending",
                blurred=False,
                width=processed.width,
                height=processed.height,
                position=0,
            )
        )
    return photo_id


def valid_ids(photo_ids: object, most: int) -> tuple[str, ...]:
    """The ids a client sent, checked for shape and number (``ValueError`` with a message id otherwise)."""
    if photo_ids in (None, "", []):
        return ()
    if not isinstance(photo_ids, (list, tuple)) or not all(
        isinstance(i, str) and PHOTO_ID_RE.fullmatch(i) for i in photo_ids
    ):
        raise PhotoError("Invalid request.")
    ids = tuple(dict.fromkeys(photo_ids))
    if len(ids) > most:
        raise PhotoError("Attach at most {n} photos.")
    return ids


def attach(conn: Connection, comment_id: int, photo_ids: Sequence[str]) -> None:
    """Attach pending photos to a new comment, in the caller's transaction; any id that is not a pending photo
    (unknown, already sent, expired) raises ``PhotoError`` and so rolls the comment back."""
    for position, photo_id in enumerate(photo_ids):
        done = conn.execute(
            update(Photo)
            .where(Photo.id == photo_id, Photo.state == "pending", Photo.comment_id.is_(None), Photo.event_id.is_(None))
            .values(comment_id=comment_id, state="attached", position=position)
        ).rowcount
        if done != 1:
            raise PhotoError("A photo could not be found; attach it again.")


def attach_to_answer(conn: Connection, actor: Actor, comment_id: int, event_id: int, photo_ids: Sequence[str]) -> None:
    """Attach an official's pending photos to their answer (``event_id``, on ``comment_id``), in the caller's
    transaction (``workflow.change_status``): any id that is not a pending photo raises ``PhotoError`` and so
    rolls the answer back. Each photo is audited. Such a photo is public exactly when its comment is."""
    attach(conn, comment_id, photo_ids)
    for photo_id in photo_ids:
        conn.execute(update(Photo).where(Photo.id == photo_id).values(event_id=event_id))
        _audit(conn, actor, "attach_answer_photo", photo_id, {}, {"comment_id": comment_id, "event_id": event_id})


def _photos(engine: Engine, comment_ids: Sequence[int], public: bool, answers: bool, key: Any) -> dict[int, list[dict]]:
    """The photos of these comments; ``public``: of their published comments, attached photos only. The
    comments' moderation is read by their keys alone: joined to photos, SQLite's planner walked every published
    comment of the store to find a page's few (89 ms at a million comments, for no photo at all)."""
    with engine.connect() as conn:
        ids = list(comment_ids)
        if public and ids:
            rows = conn.execute(select(Comment.id, Comment.moderation).where(Comment.id.in_(ids)))
            ids = [cid for cid, moderation in rows if moderation == "published"]
        if not ids:
            return {}
        q = (
            select(
                Photo.id,
                Photo.comment_id,
                Photo.event_id,
                Photo.state,
                Photo.hidden_reason,
                Photo.blurred,
                Photo.width,
                Photo.height,
            )
            .where(
                Photo.comment_id.in_(ids),
                Photo.state == "attached" if public else Photo.state != "pending",
                Photo.event_id.is_not(None) if answers else Photo.event_id.is_(None),
            )
            .order_by(Photo.comment_id, Photo.event_id, Photo.position, Photo.id)
        )
        out: dict[int, list[dict]] = {}
        for r in conn.execute(q):
            out.setdefault(r._mapping[key], []).append(dict(r._mapping))
        return out


def photos_of(engine: Engine, comment_ids: Sequence[int], public: bool = True) -> dict[int, list[dict]]:
    """The citizen's photos per comment, in the order they were attached. ``public``: only those anyone may see
    (attached, not hidden, on a published comment); otherwise every attached or hidden photo (for officials)."""
    return _photos(engine, comment_ids, public, answers=False, key="comment_id")


def answer_photos_of(engine: Engine, comment_ids: Sequence[int], public: bool = True) -> dict[int, list[dict]]:
    """Officials' photos on the answers to these comments, per answer (the event's id); ``public`` as in
    ``photos_of``."""
    return _photos(engine, comment_ids, public, answers=True, key="event_id")


def before_after(engine: Engine, comment_ids: Sequence[int]) -> dict[int, tuple[dict | None, dict | None]]:
    """Per comment, its first public photo from the citizen (before) and the latest from the city's answers
    (after); comments with neither are left out."""
    before = photos_of(engine, comment_ids)
    after: dict[int, dict] = {}
    for photos in answer_photos_of(engine, comment_ids).values():  # in the order of the answers
        after[photos[0]["comment_id"]] = photos[0]  # so the latest answer's first photo wins
    return {
        cid: (before[cid][0] if before.get(cid) else None, after.get(cid))
        for cid in comment_ids
        if cid in before or cid in after
    }


def _photo_id(name: str | None) -> str | None:
    """The photo a media name (``<id>.jpg`` or ``<id>.thumb.jpg``) is of; None for any other name."""
    m = re.fullmatch(r"([A-Za-z0-9_-]{16,32})(\.thumb)?\.jpg", name or "")
    return m.group(1) if m else None


def public_photo_name(engine: Engine, name: str) -> str | None:
    """The media name if anyone may see it now, else None (answered as 404: hidden, held and pending photos
    look the same as unknown ones)."""
    photo_id = _photo_id(name)
    if photo_id is None:
        return None
    q = (
        select(Photo.id)
        .join(Comment, Comment.id == Photo.comment_id)
        .where(Photo.id == photo_id, Photo.state == "attached", Comment.moderation == "published")
    )
    with engine.connect() as conn:
        return name if conn.scalar(q) is not None else None


def official_photo_name(engine: Engine, name: str) -> str | None:
    """The media name if the photo exists in any state but pending (officials see held and hidden photos)."""
    photo_id = _photo_id(name)
    if photo_id is None:
        return None
    with engine.connect() as conn:
        found = conn.scalar(select(Photo.id).where(Photo.id == photo_id, Photo.state != "pending"))
    return name if found is not None else None


def _audit(conn: Connection, actor: Actor, action: str, photo_id: str, before: dict, after: dict) -> None:
    conn.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            official_id=actor.id,
            action=action,
            target_type="photo",
            target_id=photo_id,
            before=before,
            after=after,
        )
    )


def _row(conn: Connection, photo_id: str) -> Row[Any]:
    row = conn.execute(select(Photo.__table__).where(Photo.id == photo_id, Photo.state != "pending")).first()
    if row is None:
        raise PhotoError("No such photo.")
    return row


def hide_photo(engine: Engine, actor: Actor, photo_id: str, reason: str) -> None:
    """Hide a photo from the public (a moderator's decision, with a reason; audited). ``show`` undoes it."""
    actor.require("moderator")
    reason = (reason or "").strip()
    if not reason:
        raise PhotoError("Hiding a photo needs a reason.")
    with engine.begin() as conn:
        row = _row(conn, photo_id)
        conn.execute(update(Photo).where(Photo.id == photo_id).values(state="hidden", hidden_reason=reason[:500]))
        _audit(conn, actor, "hide_photo", photo_id, {"state": row.state}, {"state": "hidden", "reason": reason[:500]})


def show_photo(engine: Engine, actor: Actor, photo_id: str) -> None:
    actor.require("moderator")
    with engine.begin() as conn:
        row = _row(conn, photo_id)
        conn.execute(update(Photo).where(Photo.id == photo_id).values(state="attached", hidden_reason=None))
        _audit(conn, actor, "show_photo", photo_id, {"state": row.state}, {"state": "attached"})


def blur_photo(
    engine: Engine, media: MediaStore, actor: Actor, photo_id: str, box: tuple[float, float, float, float]
) -> str:
    """Blur a region (fractions of width and height: left, top, right, bottom) of a photo, e.g. a face or a number
    plate. The blurred photo gets a new id (so no cache can keep serving the old bytes under its address) and the
    unblurred files are deleted: only the blurred version exists afterwards. Returns the new id."""
    actor.require("moderator")
    full, thumb = names(photo_id)
    current = media.get(full)
    new_id = secrets.token_urlsafe(16)
    with engine.begin() as conn:
        _row(conn, photo_id)
        if current is None:
            raise PhotoError("No such photo.")
        blurred = blur_region(current, box)
        new_full, new_thumb = names(new_id)
        media.put(new_full, blurred.full, JPEG)
        media.put(new_thumb, blurred.thumb, JPEG)
        conn.execute(update(Photo).where(Photo.id == photo_id).values(id=new_id, blurred=True))
        _audit(
            conn,
            actor,
            "blur_photo",
            new_id,
            {"id": photo_id},
            {"id": new_id, "box": [round(float(v), 4) for v in box]},
        )
    media.delete(full)
    media.delete(thumb)
    return new_id


def purge_photos(
    engine: Engine, media: MediaStore, retention_days: int, now: datetime | None = None, dry_run: bool = False
) -> int:
    """Delete uploads never sent with a comment (after a day), and photos of comments older than the retention
    period that were never published (held or hidden). Returns how many photos."""
    now = now or utcnow()
    stale_pending = (Photo.state == "pending") & (Photo.created_at < now - PENDING_FOR)
    unpublished = Photo.comment_id.in_(
        select(Comment.id).where(
            Comment.created_at < now - timedelta(days=retention_days), Comment.moderation != "published"
        )
    )
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Photo.id).where(stale_pending | unpublished)))
        if not dry_run and ids:
            conn.execute(delete(Photo).where(Photo.id.in_(ids)))
    if not dry_run:
        for photo_id in ids:  # after the commit: a crash here leaves files no record points at, never the reverse
            for name in names(photo_id):
                media.delete(name)
    return len(ids)
