"""What officials do to comments: change the status with a public answer, assign a department, moderate.

Every action runs in one transaction that changes the comment, records a ``comment_events`` row (the public
history citizens see) and writes an ``audit_log`` entry with who, when, what, before and after. A failure
leaves nothing half-done. Callers check the role first (``dashboard.server.auth``); these functions check it again,
so no entry point can skip it.
"""
from __future__ import annotations

from typing import Any

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from data_sources.comments.records import clean_text, redact_pii
from data_sources.store.models import (
    COMMENT_STATUSES,
    OFFICIAL_ROLES,
    AuditEntry,
    Comment,
    CommentEvent,
    Department,
    Official,
)
from data_sources.store.db import utcnow
from data_sources.config import CityConfig

ROLE_RANK = {r: i + 1 for i, r in enumerate(OFFICIAL_ROLES)}  # moderator < official < admin
CLOSED_REASONS = ("duplicate", "not_city", "no_action", "spam", "other")
MAX_ANSWER = 2000

# Default public answers per status; a city overrides them in its TOML ([officials] answer_templates).
DEFAULT_TEMPLATES = {
    "acknowledged": "Thank you. We have logged your comment and passed it to the responsible team.",
    "in_progress": "We are working on this. We will update this page when it is done.",
    "resolved": "This has been dealt with. Thank you for telling us.",
    "closed": "We have closed this comment. The reason is given below.",
}


class WorkflowError(ValueError):
    """A refused action, with an English message id for the official."""


class NotAllowed(PermissionError):
    pass


@dataclass(frozen=True)
class Actor:
    id: int
    role: str
    department_id: int | None = None

    def require(self, role: str) -> None:
        if ROLE_RANK.get(self.role, 0) < ROLE_RANK[role]:
            raise NotAllowed(f"needs role {role}")


def answer_templates(city: CityConfig) -> dict[str, str]:
    officials = getattr(city, "officials", None)
    return {**DEFAULT_TEMPLATES, **(dict(officials.answer_templates) if officials else {})}


def _snapshot(c: Any) -> dict:
    return {"status": c.status, "closed_reason": c.closed_reason, "department_id": c.department_id,
            "moderation": c.moderation, "moderation_reason": c.moderation_reason, "text": c.text}


def _load(conn: Connection, ids: list[int]) -> list:
    rows = conn.execute(select(Comment.__table__).where(Comment.id.in_(ids)).order_by(Comment.id)).all()
    missing = set(ids) - {r.id for r in rows}
    if missing:
        raise WorkflowError(f"No such comment: {sorted(missing)[0]}")
    return rows


def _audit(conn: Connection, actor: Actor, action: str, target: int, before: dict, after: dict, at: datetime) -> None:
    conn.execute(insert(AuditEntry.__table__).values(at=at, official_id=actor.id, action=action, target_type="comment",
                                                     target_id=str(target), before=before, after=after))


def _ids(comment_ids: Any) -> list[int]:
    ids = sorted({int(i) for i in comment_ids})
    if not ids:
        raise WorkflowError("Choose at least one comment.")
    return ids


def change_status(engine: Engine, actor: Actor, comment_ids: Any, to_status: str, public_text: str,
                  closed_reason: str | None = None, internal_text: str | None = None) -> int:
    """Set the status of one or more comments with a public answer. Returns how many changed."""
    actor.require("official")
    if to_status not in COMMENT_STATUSES or to_status == "new":
        raise WorkflowError("Choose a status.")
    if to_status == "closed" and closed_reason not in CLOSED_REASONS:
        raise WorkflowError("Closing needs a reason.")
    answer, _ = redact_pii(clean_text(public_text or ""))
    if not answer:
        raise WorkflowError("Write a public answer: the citizen sees it.")
    if len(answer) > MAX_ANSWER:
        raise WorkflowError("The answer is too long.")
    ids = _ids(comment_ids)
    now = utcnow()
    with engine.begin() as conn:
        for c in _load(conn, ids):
            before = _snapshot(c)
            values = {"status": to_status, "updated_at": now,
                      "closed_reason": closed_reason if to_status == "closed" else None}
            if c.first_response_at is None:
                values["first_response_at"] = now
            if to_status in ("resolved", "closed"):
                values["resolved_at"] = now
            else:
                values["resolved_at"] = None  # reopened
            conn.execute(update(Comment.__table__).where(Comment.id == c.id).values(**values))
            conn.execute(insert(CommentEvent.__table__).values(
                comment_id=c.id, created_at=now, kind="status", from_status=c.status, to_status=to_status,
                public_text=answer, internal_text=internal_text or None, official_id=actor.id,
                department_id=c.department_id))
            _audit(conn, actor, "change_status", c.id, before, {**before, "status": to_status,
                   "closed_reason": values["closed_reason"], "public_text": answer}, now)
    return len(ids)


def assign(engine: Engine, actor: Actor, comment_ids: Any, department_id: int | None) -> int:
    actor.require("official")
    ids = _ids(comment_ids)
    now = utcnow()
    with engine.begin() as conn:
        if department_id is not None and conn.scalar(select(Department.id).where(Department.id == department_id)) is None:
            raise WorkflowError("No such department.")
        for c in _load(conn, ids):
            before = _snapshot(c)
            conn.execute(update(Comment.__table__).where(Comment.id == c.id).values(department_id=department_id, updated_at=now))
            conn.execute(insert(CommentEvent.__table__).values(comment_id=c.id, created_at=now, kind="assign",
                                                               official_id=actor.id, department_id=department_id))
            _audit(conn, actor, "assign", c.id, before, {**before, "department_id": department_id}, now)
    return len(ids)


MODERATION_ACTIONS = ("approve", "hide", "redact")


def moderate(engine: Engine, actor: Actor, comment_id: int, action: str, reason: str = "",
             redacted_text: str | None = None) -> None:
    """approve (publish; clears flags), hide (with a reason), redact (replace the published text; the
    original is kept for moderators)."""
    actor.require("moderator")
    if action not in MODERATION_ACTIONS:
        raise WorkflowError("Unknown moderation action.")
    reason = clean_text(reason or "")
    if action == "hide" and not reason:
        raise WorkflowError("Hiding needs a reason.")
    now = utcnow()
    with engine.begin() as conn:
        (c,) = _load(conn, [comment_id])
        before = _snapshot(c)
        if action == "approve":
            values = {"moderation": "published", "moderation_reason": None, "flag_count": 0}
        elif action == "hide":
            values = {"moderation": "hidden", "moderation_reason": reason}
        else:
            text = clean_text(redacted_text or "")
            if not text or text == c.text:
                raise WorkflowError("Edit the text to redact it.")
            values = {"text": text, "original_text": c.original_text or c.text, "moderation_reason": reason or c.moderation_reason}
        conn.execute(update(Comment.__table__).where(Comment.id == c.id).values(**values, updated_at=now))
        conn.execute(insert(CommentEvent.__table__).values(comment_id=c.id, created_at=now, kind="moderation",
                                                           internal_text=f"{action}: {reason}".strip(": "),
                                                           official_id=actor.id))
        after = {**before, **{k: v for k, v in values.items() if k in before}}
        _audit(conn, actor, f"moderation_{action}", c.id, before, after, now)


def log_action(engine: Engine, actor: Actor, action: str, target_type: str, target_id: str | None = None,
               detail: dict | None = None) -> None:
    """Audit an action that changes no comment (login, logout, export)."""
    with engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__).values(at=utcnow(), official_id=actor.id, action=action,
                                                         target_type=target_type, target_id=target_id,
                                                         before=None, after=detail))


def create_official(engine: Engine, email: str, password_hash: str, role: str, department: str | None) -> int:
    """Create (or update the role, department and password of) an official. Departments are created by name."""
    if role not in OFFICIAL_ROLES:
        raise WorkflowError(f"role must be one of {', '.join(OFFICIAL_ROLES)}")
    email = email.strip().lower()
    now = utcnow()
    with engine.begin() as conn:
        dept_id = None
        if department:
            dept_id = conn.scalar(select(Department.id).where(Department.name == department))
            if dept_id is None:
                dept_id = conn.execute(insert(Department.__table__).values(name=department, categories=[])
                                       .returning(Department.__table__.c.id)).scalar_one()
        existing = conn.scalar(select(Official.id).where(Official.email == email))
        values = {"password_hash": password_hash, "role": role, "department_id": dept_id, "active": True}
        if existing is None:
            oid = conn.execute(insert(Official.__table__).values(email=email, created_at=now, **values)
                               .returning(Official.__table__.c.id)).scalar_one()
            action, before = "create_official", None
        else:
            oid = existing
            before = dict(conn.execute(select(Official.role, Official.department_id, Official.active)
                                       .where(Official.id == oid)).one()._mapping)
            conn.execute(update(Official.__table__).where(Official.id == oid).values(**values))
            action = "update_official"
        conn.execute(insert(AuditEntry.__table__).values(at=now, official_id=None, action=action, target_type="official",
                                                         target_id=str(oid), before=before,
                                                         after={"email": email, "role": role, "department_id": dept_id}))
    return oid


# --- reading: the work queue -------------------------------------------------------------------------------

QUEUE_SORTS = ("newest", "oldest_open", "most_supported", "overdue")


def queue(engine: Engine, sort: str = "newest", statuses: Any=(), department_id: int | None = None,
          overdue_days: int = 14, now: datetime | None = None, limit: int = 200) -> Any:
    """Comments for the work queue as a DataFrame. ``overdue``: open, unanswered and older than overdue_days."""
    import pandas as pd
    from datetime import timedelta

    from data_sources.store.models import OPEN_STATUSES

    now = now or utcnow()
    c = Comment
    cols = [c.id, c.created_at, c.category, c.status, c.department_id, c.support_count, c.flag_count, c.text,
            c.district_id, c.first_response_at, c.moderation]
    q = select(*cols).where(c.moderation == "published")
    if statuses:
        q = q.where(c.status.in_(list(statuses)))
    if department_id:
        q = q.where(c.department_id == department_id)
    if sort == "oldest_open":
        q = q.where(c.status.in_(OPEN_STATUSES)).order_by(c.created_at.asc(), c.id.asc())
    elif sort == "most_supported":
        q = q.order_by(c.support_count.desc(), c.created_at.desc())
    elif sort == "overdue":
        q = q.where(c.status.in_(OPEN_STATUSES), c.first_response_at.is_(None),
                    c.created_at < now - timedelta(days=overdue_days)).order_by(c.created_at.asc())
    else:
        q = q.order_by(c.created_at.desc(), c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(q.limit(limit)).all()
    return pd.DataFrame(rows, columns=[col.key for col in cols])


def moderation_queue(engine: Engine, limit: int = 200) -> Any:
    """Held comments and published comments that citizens flagged, most flagged first."""
    import pandas as pd
    from sqlalchemy import or_

    c = Comment
    cols = [c.id, c.created_at, c.category, c.moderation, c.moderation_reason, c.flag_count, c.text, c.original_text]
    q = (select(*cols).where(or_(c.moderation == "held", (c.moderation == "published") & (c.flag_count > 0)))
         .order_by(c.flag_count.desc(), c.created_at.asc()).limit(limit))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(rows, columns=[col.key for col in cols])


def audit_entries(engine: Engine, limit: int = 500) -> Any:
    import pandas as pd

    a = AuditEntry
    q = (select(a.id, a.at, Official.email, a.action, a.target_type, a.target_id, a.before, a.after)
         .join(Official, Official.id == a.official_id, isouter=True).order_by(a.id.desc()).limit(limit))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(rows, columns=["id", "at", "official", "action", "target_type", "target_id", "before", "after"])


def departments(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(i, n) for i, n in conn.execute(select(Department.id, Department.name).order_by(Department.name)).all()]
