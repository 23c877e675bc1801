"""What officials do to comments: change the status with a public answer, assign a department, moderate.

Every action runs in one transaction that changes the comment, records a ``comment_events`` row (the public
history citizens see) and writes an ``audit_log`` entry with who, when, what, before and after. A failure
leaves nothing half-done. Callers check the role first (``dashboard.server.auth``); these functions check it again,
so no entry point can skip it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection

from data_sources.comments.notifications import enqueue_comment_update
from data_sources.comments.photo_records import attach_to_answer
from data_sources.comments.records import clean_text, redact_pii
from data_sources.config import CityConfig
from data_sources.store.db import utcnow
from data_sources.store.models import (
    COMMENT_STATUSES,
    OFFICIAL_ROLES,
    AuditEntry,
    Comment,
    CommentEvent,
    Department,
    District,
    MailSubscription,
    Official,
)

if TYPE_CHECKING:
    import pandas as pd

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
    """Who acts: an official (``id``), or a back-office system through its API key (``integrator``, no id).
    ``only_department``: the actor may change only comments assigned to that department (integrator keys)."""

    id: int | None
    role: str
    department_id: int | None = None
    integrator: str | None = None
    only_department: int | None = None

    def require(self, role: str) -> None:
        if ROLE_RANK.get(self.role, 0) < ROLE_RANK[role]:
            raise NotAllowed(f"needs role {role}")

    def check_department(self, department_id: int | None) -> None:
        if self.only_department is not None and department_id != self.only_department:
            raise NotAllowed("this key answers only comments assigned to its department")


def integrator_actor(name: str, department_id: int) -> Actor:
    """A back-office system answering through its department-scoped key (``data_sources.comments.api_keys``)."""
    return Actor(id=None, role="official", department_id=department_id, integrator=name, only_department=department_id)


def answer_templates(city: CityConfig) -> dict[str, str]:
    officials = getattr(city, "officials", None)
    return {**DEFAULT_TEMPLATES, **(dict(officials.answer_templates) if officials else {})}


def _snapshot(c: Any) -> dict:
    return {
        "status": c.status,
        "closed_reason": c.closed_reason,
        "department_id": c.department_id,
        "moderation": c.moderation,
        "moderation_reason": c.moderation_reason,
        "text": c.text,
    }


def _load(conn: Connection, ids: list[int]) -> list:
    rows = conn.execute(select(Comment.__table__).where(Comment.id.in_(ids)).order_by(Comment.id)).all()
    missing = set(ids) - {r.id for r in rows}
    if missing:
        raise WorkflowError(f"No such comment: {sorted(missing)[0]}")
    return rows


def _audit(conn: Connection, actor: Actor, action: str, target: int, before: dict, after: dict, at: datetime) -> None:
    conn.execute(
        insert(AuditEntry.__table__).values(
            at=at,
            official_id=actor.id,
            integrator=actor.integrator,
            action=action,
            target_type="comment",
            target_id=str(target),
            before=before,
            after=after,
        )
    )


def _ids(comment_ids: Any) -> list[int]:
    ids = sorted({int(i) for i in comment_ids})
    if not ids:
        raise WorkflowError("Choose at least one comment.")
    return ids


def change_status(
    engine: Engine,
    actor: Actor,
    comment_ids: Iterable[int | str],
    to_status: str,
    public_text: str,
    closed_reason: str | None = None,
    internal_text: str | None = None,
    photo_ids: Sequence[str] = (),
) -> int:
    """Set the status of one or more comments with a public answer. Returns how many changed. ``photo_ids``:
    the official's pending photos, shown with the answer (one comment at a time; ``PhotoError`` if one is not
    a pending photo)."""
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
    if photo_ids and len(ids) != 1:
        raise WorkflowError("Attach a photo to one comment at a time.")
    now = utcnow()
    with engine.begin() as conn:
        for c in _load(conn, ids):
            actor.check_department(c.department_id)
            before = _snapshot(c)
            values = {
                "status": to_status,
                "updated_at": now,
                "closed_reason": closed_reason if to_status == "closed" else None,
            }
            if c.first_response_at is None:
                values["first_response_at"] = now
            if to_status in ("resolved", "closed"):
                values["resolved_at"] = now
            else:
                values["resolved_at"] = None  # reopened
            conn.execute(update(Comment.__table__).where(Comment.id == c.id).values(**values))
            event_id = conn.execute(
                insert(CommentEvent.__table__)
                .values(
                    comment_id=c.id,
                    created_at=now,
                    kind="status",
                    from_status=c.status,
                    to_status=to_status,
                    public_text=answer,
                    internal_text=internal_text or None,
                    official_id=actor.id,
                    department_id=c.department_id,
                )
                .returning(CommentEvent.__table__.c.id)
            ).scalar_one()
            # Mail for the comment's confirmed author and supporters, queued in the same transaction: every path
            # that changes a status (the officials' page, scripts, back offices) notifies, and a rolled-back
            # change queues nothing.
            enqueue_comment_update(conn, c.id, event_id, to_status, values["closed_reason"], answer, now)
            attach_to_answer(conn, actor, c.id, event_id, photo_ids)
            after = {**before, "status": to_status, "closed_reason": values["closed_reason"], "public_text": answer}
            _audit(
                conn,
                actor,
                "change_status",
                c.id,
                before,
                {**after, **({"photos": list(photo_ids)} if photo_ids else {})},
                now,
            )
    return len(ids)


# What the author answers to "was it fixed?" (the mail's two links): "yes" records it, "no" reopens the comment.
FIXED_ANSWERS = ("yes", "no")
REOPEN_STATUS = "acknowledged"  # back in the queue as open and known to the city, not as a new comment
REOPEN_NOTE = "The author says it is not fixed: open again."


def citizen_answer_fixed(engine: Engine, token: str, answer: str, now: datetime | None = None) -> str:
    """The author's answer to "was it fixed?", through the token of their confirmed subscription. Returns
    "confirmed", "reopened", "already" (answered before) or "not_resolved" (the comment is no longer resolved);
    raises WorkflowError for an unknown link or answer. Audited (no official) and kept in the public history."""
    if answer not in FIXED_ANSWERS:
        raise WorkflowError("Unknown answer.")
    now = now or utcnow()
    with engine.begin() as conn:
        sub = (
            conn.execute(
                select(MailSubscription.comment_id, MailSubscription.kind, MailSubscription.confirmed_at).where(
                    MailSubscription.token == token
                )
            ).first()
            if isinstance(token, str)
            else None
        )
        if sub is None or sub.kind != "author" or sub.confirmed_at is None or sub.comment_id is None:
            raise WorkflowError("This link is not valid.")
        (c,) = _load(conn, [sub.comment_id])
        # Answered already: a citizen's answer after the latest time the city marked it resolved.
        last_resolved = conn.scalar(
            select(func.max(CommentEvent.id)).where(
                CommentEvent.comment_id == c.id, CommentEvent.kind == "status", CommentEvent.to_status == "resolved"
            )
        )
        answered = (
            last_resolved is not None
            and conn.scalar(
                select(CommentEvent.id)
                .where(
                    CommentEvent.comment_id == c.id,
                    CommentEvent.kind.in_(("fixed_confirmed", "reopened")),
                    CommentEvent.id > last_resolved,
                )
                .limit(1)
            )
            is not None
        )
        if c.status != "resolved":
            return "already" if answered else "not_resolved"
        if answered:
            return "already"
        before = _snapshot(c)
        if answer == "yes":
            conn.execute(
                insert(CommentEvent.__table__).values(
                    comment_id=c.id,
                    created_at=now,
                    kind="fixed_confirmed",
                    from_status="resolved",
                    to_status="resolved",
                    department_id=c.department_id,
                )
            )
            _audit_citizen(conn, "citizen_confirmed_fixed", c.id, before, before, now)
            return "confirmed"
        conn.execute(
            update(Comment.__table__)
            .where(Comment.id == c.id)
            .values(status=REOPEN_STATUS, resolved_at=None, closed_reason=None, updated_at=now)
        )
        conn.execute(
            insert(CommentEvent.__table__).values(
                comment_id=c.id,
                created_at=now,
                kind="reopened",
                from_status="resolved",
                to_status=REOPEN_STATUS,
                public_text=REOPEN_NOTE,
                internal_text=REOPEN_NOTE,
                department_id=c.department_id,
            )
        )
        _audit_citizen(conn, "citizen_reopened", c.id, before, {**before, "status": REOPEN_STATUS}, now)
        return "reopened"


def _audit_citizen(conn: Connection, action: str, target: int, before: dict, after: dict, at: datetime) -> None:
    conn.execute(
        insert(AuditEntry.__table__).values(
            at=at,
            official_id=None,
            action=action,
            target_type="comment",
            target_id=str(target),
            before=before,
            after=after,
        )
    )


def assign(engine: Engine, actor: Actor, comment_ids: Iterable[int], department_id: int | None) -> int:
    actor.require("official")
    ids = _ids(comment_ids)
    now = utcnow()
    with engine.begin() as conn:
        if (
            department_id is not None
            and conn.scalar(select(Department.id).where(Department.id == department_id)) is None
        ):
            raise WorkflowError("No such department.")
        for c in _load(conn, ids):
            actor.check_department(c.department_id)
            before = _snapshot(c)
            conn.execute(
                update(Comment.__table__).where(Comment.id == c.id).values(department_id=department_id, updated_at=now)
            )
            conn.execute(
                insert(CommentEvent.__table__).values(
                    comment_id=c.id, created_at=now, kind="assign", official_id=actor.id, department_id=department_id
                )
            )
            _audit(conn, actor, "assign", c.id, before, {**before, "department_id": department_id}, now)
    return len(ids)


MODERATION_ACTIONS = ("approve", "hide", "redact")


def moderate(
    engine: Engine, actor: Actor, comment_id: int, action: str, reason: str = "", redacted_text: str | None = None
) -> None:
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
            values = {
                "text": text,
                "original_text": c.original_text or c.text,
                "moderation_reason": reason or c.moderation_reason,
            }
        conn.execute(update(Comment.__table__).where(Comment.id == c.id).values(**values, updated_at=now))
        conn.execute(
            insert(CommentEvent.__table__).values(
                comment_id=c.id,
                created_at=now,
                kind="moderation",
                internal_text=f"{action}: {reason}".strip(": "),
                official_id=actor.id,
            )
        )
        after = {**before, **{k: v for k, v in values.items() if k in before}}
        _audit(conn, actor, f"moderation_{action}", c.id, before, after, now)


def log_action(
    engine: Engine,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None = None,
    detail: dict | None = None,
) -> None:
    """Audit an action that changes no comment (login, logout, export)."""
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEntry.__table__).values(
                at=utcnow(),
                official_id=actor.id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                before=None,
                after=detail,
            )
        )


# --- reading: the work queue -------------------------------------------------------------------------------

QUEUE_SORTS = ("newest", "oldest", "oldest_open", "most_supported", "overdue", "recently_updated")
UNASSIGNED = 0  # in a department filter: comments with no department (always offered, never hidden)
QUEUE_PAGE = (25, 200)  # default and largest page


@dataclass(frozen=True)
class QueueFilter:
    """What an official narrows the work queue to. Empty fields do not filter. ``departments`` may hold
    UNASSIGNED. Ages are whole days since the comment arrived. Sorts ``oldest_open`` and ``overdue`` keep only
    open (respectively overdue) comments, as their names say."""

    text: str = ""
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    districts: tuple[int, ...] = ()
    departments: tuple[int, ...] = ()
    min_age_days: int | None = None
    max_age_days: int | None = None
    overdue: bool = False
    min_supports: int | None = None
    sort: str = "newest"


QUEUE_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "category",
    "status",
    "department_id",
    "department",
    "district_id",
    "district",
    "support_count",
    "flag_count",
    "text",
    "first_response_at",
    "lat",
    "lon",
    "moderation",
]


def _like(text: str) -> str:
    t = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{t}%"


def queue_conditions(f: QueueFilter, now: datetime, overdue_days: int) -> list:
    """The filter as SQL conditions over ``comments`` (published only: held and hidden ones are moderation's)."""
    from datetime import timedelta

    from sqlalchemy import func, or_

    from data_sources.store.models import OPEN_STATUSES

    c = Comment
    cond = [c.moderation == "published"]
    if f.text.strip():
        cond.append(func.lower(c.text).like(_like(f.text[:200]), escape="\\"))
    if f.statuses:
        cond.append(c.status.in_(list(f.statuses)))
    if f.categories:
        cond.append(c.category.in_(list(f.categories)))
    if f.districts:
        cond.append(c.district_id.in_(list(f.districts)))
    if f.departments:
        named = [d for d in f.departments if d != UNASSIGNED]
        either = [c.department_id.in_(named)] if named else []
        if UNASSIGNED in f.departments:
            either.append(c.department_id.is_(None))
        cond.append(or_(*either))
    if f.min_age_days is not None:
        cond.append(c.created_at <= now - timedelta(days=f.min_age_days))
    if f.max_age_days is not None:
        cond.append(c.created_at >= now - timedelta(days=f.max_age_days))
    if f.min_supports is not None:
        cond.append(c.support_count >= f.min_supports)
    if f.overdue or f.sort == "overdue":
        cond += [
            c.status.in_(OPEN_STATUSES),
            c.first_response_at.is_(None),
            c.created_at < now - timedelta(days=overdue_days),
        ]
    if f.sort == "oldest_open":
        cond.append(c.status.in_(OPEN_STATUSES))
    return cond


def _queue_order(sort: str) -> list:
    c = Comment
    return {
        "oldest": [c.created_at.asc(), c.id.asc()],
        "oldest_open": [c.created_at.asc(), c.id.asc()],
        "overdue": [c.created_at.asc(), c.id.asc()],
        "most_supported": [c.support_count.desc(), c.created_at.desc(), c.id.desc()],
        "recently_updated": [c.updated_at.desc(), c.id.desc()],
    }.get(sort, [c.created_at.desc(), c.id.desc()])


def _queue_select() -> Any:
    c = Comment
    return (
        select(
            c.id,
            c.created_at,
            c.updated_at,
            c.category,
            c.status,
            c.department_id,
            Department.name,
            c.district_id,
            District.name,
            c.support_count,
            c.flag_count,
            c.text,
            c.first_response_at,
            c.lat,
            c.lon,
            c.moderation,
        )
        .outerjoin(Department, Department.id == c.department_id)
        .outerjoin(District, District.id == c.district_id)
    )


def queue_page(
    engine: Engine,
    f: QueueFilter,
    overdue_days: int = 14,
    now: datetime | None = None,
    page: int = 0,
    page_size: int = QUEUE_PAGE[0],
) -> tuple[pd.DataFrame, int]:
    """One page of the work queue (filtered, sorted and paged in SQL) and how many comments match in all."""
    import pandas as pd
    from sqlalchemy import and_, func

    now = now or utcnow()
    page_size = max(1, min(int(page_size), QUEUE_PAGE[1]))
    c = Comment
    cond = and_(*queue_conditions(f, now, overdue_days))
    q = (
        _queue_select()
        .where(cond)
        .order_by(*_queue_order(f.sort))
        .limit(page_size)
        .offset(max(0, int(page)) * page_size)
    )
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(c).where(cond)) or 0
        rows = conn.execute(q).all()
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS), int(total)


# Keyset paging (data_sources.store.paging): the sort's columns, one direction for all, ending with the id.
_KEYSET = {
    "oldest": (("created_at", "id"), False),
    "oldest_open": (("created_at", "id"), False),
    "overdue": (("created_at", "id"), False),
    "most_supported": (("support_count", "created_at", "id"), True),
    "recently_updated": (("updated_at", "id"), True),
    "newest": (("created_at", "id"), True),
}
_KIND = {"created_at": "datetime", "updated_at": "datetime", "support_count": "int", "id": "int"}


def queue_after(
    engine: Engine,
    f: QueueFilter,
    overdue_days: int = 14,
    now: datetime | None = None,
    cursor: str | None = None,
    page_size: int = QUEUE_PAGE[0],
) -> tuple[pd.DataFrame, int, str | None]:
    """The page of the work queue that follows ``cursor`` (None: the first page), paged by keyset instead of
    OFFSET: (rows, how many match in all, the cursor of the next page or None at the end). Raises
    ``data_sources.store.paging.BadCursor`` for a cursor this sort did not hand out."""
    import pandas as pd
    from sqlalchemy import and_, func, literal, tuple_

    from data_sources.store.paging import decode_cursor, encode_cursor

    now = now or utcnow()
    page_size = max(1, min(int(page_size), QUEUE_PAGE[1]))
    names, desc = _KEYSET.get(f.sort, _KEYSET["newest"])
    c = Comment
    conds = queue_conditions(f, now, overdue_days)
    cond = and_(*conds)
    if cursor is not None:
        values = decode_cursor(cursor, [_KIND[n] for n in names])
        cols = tuple_(*(getattr(c, n) for n in names))
        bound = tuple_(*(literal(v, getattr(c, n).type) for n, v in zip(names, values)))
        conds = [*conds, cols < bound if desc else cols > bound]
    q = (
        _queue_select()
        .where(and_(*conds))
        .order_by(*(getattr(c, n).desc() if desc else getattr(c, n).asc() for n in names))
        .limit(page_size + 1)
    )
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(c).where(cond)) or 0
        rows = conn.execute(q).all()
    df = pd.DataFrame(rows[:page_size], columns=QUEUE_COLUMNS)
    nxt = encode_cursor([getattr(rows[page_size - 1], n) for n in names]) if len(rows) > page_size else None
    return df, int(total), nxt


def queue(
    engine: Engine,
    sort: str = "newest",
    statuses: tuple[str, ...] = (),
    department_id: int | None = None,
    overdue_days: int = 14,
    now: datetime | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """The first ``limit`` comments of the queue for a sort (and optionally statuses and one department)."""
    f = QueueFilter(
        statuses=tuple(statuses), departments=(department_id,) if department_id is not None else (), sort=sort
    )
    return queue_page(engine, f, overdue_days, now, 0, limit)[0]


def moderation_queue(engine: Engine, limit: int = 200) -> Any:
    """Held comments and published comments that citizens flagged, most flagged first (the first page)."""
    return moderation_page(engine, None, limit)[0]


MODERATION_CURSOR = ("int", "datetime", "int")  # (flag_count, created_at, id) of the last comment shown


def moderation_page(engine: Engine, cursor: str | None = None, limit: int = 200) -> tuple[Any, str | None]:
    """One page of the moderation queue after ``cursor`` (keyset; None: the first page): most flagged first, then
    oldest first. Returns the rows and the next page's cursor (None at the end); ``data_sources.store.paging.BadCursor`` for a
    cursor it did not hand out."""
    import pandas as pd
    from sqlalchemy import and_, literal, or_, tuple_

    from data_sources.store.paging import decode_cursor, encode_cursor

    c = Comment
    cols = [c.id, c.created_at, c.category, c.moderation, c.moderation_reason, c.flag_count, c.text, c.original_text]
    cond = [or_(c.moderation == "held", (c.moderation == "published") & (c.flag_count > 0))]
    if cursor is not None:
        flags, at, last = decode_cursor(cursor, MODERATION_CURSOR)
        later = tuple_(c.created_at, c.id) > tuple_(literal(at, c.created_at.type), last)
        cond.append(or_(c.flag_count < flags, and_(c.flag_count == flags, later)))
    q = select(*cols).where(*cond).order_by(c.flag_count.desc(), c.created_at.asc(), c.id.asc()).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    nxt = None
    if len(rows) > limit:
        rows, last_row = rows[:limit], rows[limit - 1]
        nxt = encode_cursor([last_row.flag_count, last_row.created_at, last_row.id])
    return pd.DataFrame(rows, columns=[col.key for col in cols]), nxt


def audit_entries(engine: Engine, limit: int = 500) -> pd.DataFrame:
    import pandas as pd

    a = AuditEntry
    from sqlalchemy import func, literal

    who = func.coalesce(Official.email, literal("integrator ") + a.integrator)
    q = (
        select(a.id, a.at, who, a.action, a.target_type, a.target_id, a.before, a.after)
        .join(Official, Official.id == a.official_id, isouter=True)
        .order_by(a.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(rows, columns=["id", "at", "official", "action", "target_type", "target_id", "before", "after"])


def departments(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(i, n) for i, n in conn.execute(select(Department.id, Department.name).order_by(Department.name)).all()]
