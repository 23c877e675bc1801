"""The public reciprocity ledger: how the city answers, per department and category, from the status history.

Definitions (README 'Comments and the reciprocity loop'), over published comments:

* first answer: the earliest ``comment_events`` row of kind "status" (any status change is a visible reaction)
  or "answer" (an official's public reply); time to first answer = that minus the comment's creation;
* status: the ``to_status`` of the latest "status" event (``new`` when there is none);
* answered / resolved shares: comments with a first answer / with status ``resolved``, over all comments;
* open: status new, acknowledged or in progress; overdue: open and older than ``overdue_days``;
* confirmed fixed / reopened: comments whose author answered "was it fixed?" yes / no (events "fixed_confirmed"
  and "reopened"), over the comments the city ever marked resolved; a reopened comment's status is the
  ``to_status`` of its "reopened" event until the city changes it again.

``ledger()`` is pure (DataFrames in, DataFrame out) and tested against a hand-computed example; it is the
reference that ``city_ledger`` (the page's figures, in SQL) is tested against on random histories.

``city_ledger`` reads summaries, never the comment history (migration 0803): each comment carries its ledger
state (``ledger_status``, ``first_answer_seconds``, ``ever_resolved``, ``confirmed_fixed``, ``reopened``), kept
from its events by a trigger, and triggers on ``comments`` keep three small tables per department and category:

* ``comment_ledger_counts``: comments per ledger status, answered or not and the three flags (counts, shares);
* ``comment_open_days``: open comments per creation day; overdue = the whole days before the cut-off from here,
  plus the cut-off's own day counted from ``comments`` (a few hundred rows through the created_at index);
* ``comment_answer_hours``: first answers per whole hour. The median is exact, not bucketed: the histogram
  says which hour holds the middle answer(s) and at which rank, and one indexed query per group reads that
  value (``LIMIT 1 OFFSET rank`` inside one hour, through a partial index on first_answer_seconds). Sorting
  every answer per group (percentile_cont, or a window on SQLite) would read all answered comments: ~1 s at
  a million.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, DateTime, Engine, String, bindparam, cast, select, text

from data_sources.store.models import (
    OPEN_STATUSES,
    Comment,
    CommentAnswerHour,
    CommentEvent,
    CommentLedgerCount,
    CommentOpenDay,
    Department,
)

RESPONSE_KINDS = ("status", "answer")
CITIZEN_KINDS = ("fixed_confirmed", "reopened")
COLUMNS = [
    "comments",
    "answered",
    "share_answered",
    "median_hours_to_answer",
    "resolved",
    "share_resolved",
    "closed",
    "open",
    "overdue",
    "ever_resolved",
    "confirmed_fixed",
    "share_confirmed_fixed",
    "reopened",
    "share_reopened",
]


def comment_states(comments: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per comment: first_answer_at and status, derived from its events. ``comments``: id, created_at, ...;
    ``events``: id, comment_id, created_at, kind, to_status."""
    out = comments.copy()
    if out.empty:  # a store with no comments yet: the ledger is all zeros, not an error
        return out.assign(first_answer_at=pd.Series(dtype="datetime64[ns]"), status=pd.Series(dtype=object))
    ev = events.sort_values(["created_at", "id"])
    first = ev[ev["kind"].isin(RESPONSE_KINDS)].groupby("comment_id")["created_at"].first()
    moves = ev[ev["kind"].isin(("status", "reopened")) & ev["to_status"].notna()]
    last_status = moves.groupby("comment_id")["to_status"].last()
    # Through a dict: mapping by an empty datetime Series (comments, none answered yet) raises in pandas.
    out["first_answer_at"] = pd.to_datetime(out["id"].map(first.to_dict()))
    out["status"] = out["id"].map(last_status).astype(object).fillna("new")
    out["ever_resolved"] = out["id"].isin(
        ev.loc[(ev["kind"] == "status") & (ev["to_status"] == "resolved"), "comment_id"]
    )
    out["confirmed_fixed"] = out["id"].isin(ev.loc[ev["kind"] == "fixed_confirmed", "comment_id"])
    out["reopened"] = out["id"].isin(ev.loc[ev["kind"] == "reopened", "comment_id"])
    return out


def ledger(
    comments: pd.DataFrame,
    events: pd.DataFrame,
    now: datetime,
    overdue_days: int = 30,
    by: tuple[str, ...] = ("department", "category"),
) -> pd.DataFrame:
    """One row per group in ``by`` (empty ``by``: one row for the whole city) with the COLUMNS figures."""
    return aggregate(comment_states(comments, events), now, overdue_days, by)


def aggregate(states: pd.DataFrame, now: datetime, overdue_days: int, by: tuple[str, ...]) -> pd.DataFrame:
    s = states.copy()
    created = pd.to_datetime(s["created_at"])
    s["hours"] = (pd.to_datetime(s["first_answer_at"]) - created).dt.total_seconds() / 3600
    s["is_answered"] = s["first_answer_at"].notna()
    s["is_resolved"] = s["status"] == "resolved"
    s["is_closed"] = s["status"] == "closed"
    s["is_open"] = s["status"].isin(OPEN_STATUSES)
    s["is_overdue"] = s["is_open"] & (created < pd.Timestamp(now) - timedelta(days=overdue_days))
    for col in ("ever_resolved", "confirmed_fixed", "reopened"):
        s[col] = s[col].astype(bool) if col in s else False
    if not by:
        s["_all"] = "all"
    g = s.groupby(list(by) or ["_all"], dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "comments": g.size(),
            "answered": g["is_answered"].sum(),
            "median_hours_to_answer": g["hours"].median(),
            "resolved": g["is_resolved"].sum(),
            "closed": g["is_closed"].sum(),
            "open": g["is_open"].sum(),
            "overdue": g["is_overdue"].sum(),
            "ever_resolved": g["ever_resolved"].sum(),
            "confirmed_fixed": g["confirmed_fixed"].sum(),
            "reopened": g["reopened"].sum(),
        }
    )
    out["share_answered"] = out["answered"] / out["comments"]
    out["share_resolved"] = out["resolved"] / out["comments"]
    # Over the comments ever marked resolved (NaN where there are none: nothing to confirm yet).
    out["share_confirmed_fixed"] = out["confirmed_fixed"] / out["ever_resolved"].where(out["ever_resolved"] > 0)
    out["share_reopened"] = out["reopened"] / out["ever_resolved"].where(out["ever_resolved"] > 0)
    out = out[COLUMNS].reset_index()
    if not by:
        out = out.drop(columns="_all")
    for c in (
        "comments",
        "answered",
        "resolved",
        "closed",
        "open",
        "overdue",
        "ever_resolved",
        "confirmed_fixed",
        "reopened",
    ):
        out[c] = out[c].astype(int)
    return out


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    # Column by column: pandas builds a frame from a list of SQLAlchemy Rows several times slower.
    cols = list(zip(*rows)) if rows else [()] * len(columns)
    return pd.DataFrame({name: list(col) for name, col in zip(columns, cols)}, columns=columns)


def load_inputs(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published comments (id, created_at, category, department) and their status/answer events."""
    cq = (
        select(Comment.id, cast(Comment.created_at, String), Comment.category, Department.name.label("department"))
        .outerjoin(Department, Department.id == Comment.department_id)
        .where(Comment.moderation == "published")
    )
    eq = (
        select(
            CommentEvent.id,
            CommentEvent.comment_id,
            cast(CommentEvent.created_at, String),
            CommentEvent.kind,
            CommentEvent.to_status,
        )
        .join(Comment, Comment.id == CommentEvent.comment_id)
        .where(Comment.moderation == "published", CommentEvent.kind.in_(RESPONSE_KINDS + CITIZEN_KINDS))
    )
    with engine.connect() as conn:
        comments = _frame(conn.execute(cq).all(), ["id", "created_at", "category", "department"])
        events = _frame(conn.execute(eq).all(), ["id", "comment_id", "created_at", "kind", "to_status"])
    # Times come as ISO text and are parsed here in one vectorised step: per-row datetime parsing by the driver
    # layer was most of the cost at 200,000 comments.
    comments["created_at"] = pd.to_datetime(comments["created_at"], format="ISO8601")
    events["created_at"] = pd.to_datetime(events["created_at"], format="ISO8601")
    comments["department"] = comments["department"].fillna("")
    return comments, events


def city_ledger_from_history(engine: Engine, now: datetime, overdue_days: int = 30) -> dict[str, pd.DataFrame]:
    """The ledger as it was computed before 0803, from the whole history in pandas (the tests' and the bench's
    reference for ``city_ledger``; seconds at a million comments)."""
    states = comment_states(*load_inputs(engine))
    return {
        "rows": aggregate(states, now, overdue_days, ("department", "category")),
        "departments": aggregate(states, now, overdue_days, ("department",)),
        "city": aggregate(states, now, overdue_days, ()),
    }


# --- the ledger from the summaries (migration 0803) ------------------------------------------------------------

_OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
_HOUR = {
    "sqlite": "CASE WHEN first_answer_seconds < 0 THEN -1 ELSE CAST(first_answer_seconds / 3600 AS INTEGER) END",
    "postgresql": "CASE WHEN first_answer_seconds < 0 THEN -1 ELSE floor(first_answer_seconds / 3600)::int END",
}
_DAY = {
    "sqlite": "CAST(julianday(created_at) - 2440587.5 AS INTEGER)",
    "postgresql": "floor(extract(epoch from created_at) / 86400)::int",
}
_SECONDS = {
    "sqlite": "(julianday(min(e.created_at)) - julianday(comments.created_at)) * 86400.0",
    "postgresql": "extract(epoch from (min(e.created_at) - comments.created_at))",
}
_EPOCH = datetime(1970, 1, 1)
_COUNT_COLUMNS = ["comments", "answered", "resolved", "closed", "open", "ever_resolved", "confirmed_fixed", "reopened"]


def rebuild_ledger(conn: Connection) -> None:
    """Recompute every comment's ledger state and the three summaries, inside the caller's transaction. Call it
    with the triggers paused (``analysis.paused_cell_counts`` does): otherwise updating every comment's state
    fires the summary triggers once per comment (right, but slow)."""
    d = conn.dialect.name
    ev = "FROM comment_events e WHERE e.comment_id = comments.id"
    dep, pub = "COALESCE(department_id, 0)", "moderation = 'published'"
    for stmt in (
        f"UPDATE comments SET first_answer_seconds = (SELECT {_SECONDS[d]} {ev} AND e.kind IN ('status', 'answer')), "
        f"ledger_status = COALESCE((SELECT e.to_status {ev} AND e.kind IN ('status', 'reopened') "
        "AND e.to_status IS NOT NULL ORDER BY e.created_at DESC, e.id DESC LIMIT 1), 'new'), "
        f"ever_resolved = EXISTS (SELECT 1 {ev} AND e.kind = 'status' AND e.to_status = 'resolved'), "
        f"confirmed_fixed = EXISTS (SELECT 1 {ev} AND e.kind = 'fixed_confirmed'), "
        f"reopened = EXISTS (SELECT 1 {ev} AND e.kind = 'reopened')",
        "DELETE FROM comment_ledger_counts",
        "DELETE FROM comment_answer_hours",
        "DELETE FROM comment_open_days",
        "INSERT INTO comment_ledger_counts (department_id, category, status, answered, ever_resolved, "
        f"confirmed_fixed, reopened, n) SELECT {dep}, category, ledger_status, first_answer_seconds IS NOT NULL, "
        f"ever_resolved, confirmed_fixed, reopened, count(*) FROM comments WHERE {pub} GROUP BY 1, 2, 3, 4, 5, 6, 7",
        f"INSERT INTO comment_answer_hours (department_id, category, hour, n) SELECT {dep}, category, {_HOUR[d]}, "
        f"count(*) FROM comments WHERE {pub} AND first_answer_seconds IS NOT NULL GROUP BY 1, 2, 3",
        f"INSERT INTO comment_open_days (department_id, category, day, n) SELECT {dep}, category, {_DAY[d]}, "
        f"count(*) FROM comments WHERE {pub} AND ledger_status IN {_OPEN_SQL} GROUP BY 1, 2, 3",
    ):
        conn.exec_driver_sql(stmt)


def _kth_seconds(conn: Connection, hours: dict[int, int], k: int, dept: int | None, category: str | None) -> float:
    """The k-th smallest (0-based) first_answer_seconds of a group, exactly: the group's hour histogram
    (hour -> n) gives the hour and the rank inside it, an indexed query the value."""
    seen = 0
    for hour in sorted(hours):
        if seen + hours[hour] > k:
            break
        seen += hours[hour]
    rank = k - seen
    cond = ["moderation = 'published'", f"{_HOUR[conn.dialect.name]} = :hour"]
    params: dict[str, object] = {"hour": hour, "rank": rank}
    if hour < 0:
        cond.append("first_answer_seconds < 1")
    else:  # a range the index can seek (one second wider than the hour: the CASE above decides)
        cond += ["first_answer_seconds >= :lo", "first_answer_seconds < :hi"]
        params |= {"lo": hour * 3600 - 1, "hi": (hour + 1) * 3600 + 1}
    if dept is not None:
        cond.append("department_id = :dept" if dept else "department_id IS NULL")
        params["dept"] = dept
    if category is not None:
        cond.append("category = :cat")
        params["cat"] = category
    # SQLite otherwise may walk the moderation index and sort (seconds at a million for the whole city).
    index = "ix_comments_answer" + ("_dept" if dept is not None else "") + ("_cat" if category is not None else "")
    table = f"comments INDEXED BY {index}" if conn.dialect.name == "sqlite" else "comments"
    q = f"SELECT first_answer_seconds FROM {table} WHERE {' AND '.join(cond)} "
    q += "ORDER BY first_answer_seconds LIMIT 1 OFFSET :rank"
    value = conn.execute(text(q), params).scalar()
    if value is None:  # the summary and the comments disagree: a bug, never a silent wrong median
        raise RuntimeError("comment_answer_hours is out of step with comments; run rebuild_ledger")
    return float(value)


def _median_hours(conn: Connection, hours: dict[int, int], dept: int | None, category: str | None) -> float:
    n = sum(hours.values())
    if n == 0:
        return math.nan
    lo = _kth_seconds(conn, hours, (n - 1) // 2, dept, category)
    hi = lo if n % 2 else _kth_seconds(conn, hours, n // 2, dept, category)
    return (lo + hi) / 2 / 3600


def _level(frame: pd.DataFrame, by: list[str], medians: dict[tuple, float], key: list[str]) -> pd.DataFrame:
    """Sum the per-(department, category) counts to one level and add shares and medians (as ``aggregate``)."""
    grouped = frame.assign(_all="all").groupby(by or ["_all"], dropna=False, sort=True)
    out = grouped[_COUNT_COLUMNS + ["overdue"]].sum()
    first_key = grouped[key].first() if key else None
    out["median_hours_to_answer"] = [
        medians.get(tuple(first_key.loc[i]) if first_key is not None else (), math.nan) for i in out.index
    ]
    out = out[out["comments"] > 0]
    out["share_answered"] = out["answered"] / out["comments"]
    out["share_resolved"] = out["resolved"] / out["comments"]
    out["share_confirmed_fixed"] = out["confirmed_fixed"] / out["ever_resolved"].where(out["ever_resolved"] > 0)
    out["share_reopened"] = out["reopened"] / out["ever_resolved"].where(out["ever_resolved"] > 0)
    out = out[COLUMNS].reset_index()
    if not by:
        out = out.drop(columns="_all")
    for c in _COUNT_COLUMNS + ["overdue"]:
        out[c] = out[c].astype(int)
    out["median_hours_to_answer"] = out["median_hours_to_answer"].astype(float)
    return out


def city_ledger(engine: Engine, now: datetime, overdue_days: int = 30) -> dict[str, pd.DataFrame]:
    """The ledger at three levels: per department and category, per department, and the whole city. Read from
    the summaries kept by triggers (module docstring); the same figures as ``city_ledger_from_history``."""
    cutoff = now - timedelta(days=overdue_days)
    cutoff_day = (cutoff - _EPOCH).days
    day_start = _EPOCH + timedelta(days=cutoff_day)
    key = ["department_id", "category"]
    with engine.connect() as conn:
        names = {i: n for i, n in conn.execute(select(Department.id, Department.name))}
        lc = CommentLedgerCount
        counts = pd.DataFrame(
            conn.execute(
                select(
                    lc.department_id,
                    lc.category,
                    lc.status,
                    lc.answered,
                    lc.ever_resolved,
                    lc.confirmed_fixed,
                    lc.reopened,
                    lc.n,
                ).where(lc.n > 0)
            ).all(),
            columns=[*key, "status", "answered", "ever_resolved", "confirmed_fixed", "reopened", "n"],
        )
        ah = CommentAnswerHour
        histograms: dict[tuple, dict[int, int]] = {}  # (dept, category), (dept,), (): hour -> n
        for dept, cat, hour, count in conn.execute(
            select(ah.department_id, ah.category, ah.hour, ah.n).where(ah.n > 0)
        ):
            for group in ((dept, cat), (dept,), ()):
                h = histograms.setdefault(group, {})
                h[hour] = h.get(hour, 0) + count
        od = CommentOpenDay
        overdue = pd.DataFrame(
            conn.execute(select(od.department_id, od.category, od.n).where(od.day < cutoff_day, od.n > 0)).all(),
            columns=[*key, "n"],
        )
        partial = pd.DataFrame(
            conn.execute(
                text(
                    # "|| ''": no index on those two, so the planner walks created_at over one day.
                    "SELECT COALESCE(department_id, 0), category, 1 FROM comments WHERE moderation || '' = "
                    f"'published' AND ledger_status || '' IN {_OPEN_SQL} AND created_at >= :start "
                    "AND created_at < :cutoff"
                ).bindparams(bindparam("start", day_start, DateTime()), bindparam("cutoff", cutoff, DateTime()))
            ).all(),
            columns=[*key, "n"],
        )
        medians = {group: _median_hours(conn, h, *(group + (None, None))[:2]) for group, h in histograms.items()}
    n = counts["n"]
    per = counts.assign(
        comments=n,
        answered=n * counts["answered"].astype(bool),
        resolved=n * (counts["status"] == "resolved"),
        closed=n * (counts["status"] == "closed"),
        open=n * counts["status"].isin(OPEN_STATUSES),
        ever_resolved=n * counts["ever_resolved"].astype(bool),
        confirmed_fixed=n * counts["confirmed_fixed"].astype(bool),
        reopened=n * counts["reopened"].astype(bool),
    )
    per = per.groupby(key, as_index=False)[_COUNT_COLUMNS].sum()
    late = pd.concat([overdue, partial]).groupby(key)["n"].sum()
    per["overdue"] = [int(late.get((d, c), 0)) for d, c in zip(per["department_id"], per["category"])]
    per["department"] = [names.get(d, "") if d else "" for d in per["department_id"]]
    return {
        "rows": _level(per, ["department", "category"], medians, key),
        "departments": _level(per, ["department"], medians, ["department_id"]),
        "city": _level(per, [], medians, []),
    }
