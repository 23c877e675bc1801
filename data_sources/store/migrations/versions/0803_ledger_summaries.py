"""ledger summaries: each comment's ledger state, and per-department/category counts kept by triggers; keyset indexes

Revision ID: 0803
Revises: 0802

The ledger (data_sources.comments.ledger) used to read every comment and status event into pandas. Now:

* each comment carries its ledger state, derived from its events by a trigger on ``comment_events``:
  ``ledger_status`` (the ``to_status`` of the latest "status"/"reopened" event, "new" when none),
  ``first_answer_seconds`` (earliest "status"/"answer" event minus the comment's creation), ``ever_resolved``,
  ``confirmed_fixed`` and ``reopened``;
* triggers on ``comments`` keep three summaries of published comments, per department (0: none) and category:
  ``comment_ledger_counts`` (per ledger status and flags), ``comment_answer_hours`` (how many first answers came
  in each whole hour: a histogram that finds the bucket holding the median; the exact value is then read from an
  index) and ``comment_open_days`` (open comments per creation day, for "overdue" at any cut-off).

Like comment_cell_counts (0601), the triggers stand still while ``comment_cell_counts_pause`` has a row (bulk
loads rebuild once at the end: ``data_sources.comments.ledger.rebuild_ledger``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0803"
down_revision = "0802"
branch_labels = None
depends_on = None

OPEN = "('new', 'acknowledged', 'in_progress')"
DAY = {
    "sqlite": "CAST(julianday({r}.created_at) - 2440587.5 AS INTEGER)",
    "postgresql": "floor(extract(epoch from {r}.created_at) / 86400)::int",
}
HOUR = {
    "sqlite": "CASE WHEN {r}.first_answer_seconds < 0 THEN -1 ELSE CAST({r}.first_answer_seconds / 3600 AS INTEGER) END",
    "postgresql": "CASE WHEN {r}.first_answer_seconds < 0 THEN -1 ELSE floor({r}.first_answer_seconds / 3600)::int END",
}
SECONDS = {
    "sqlite": "(julianday(min(e.created_at)) - julianday(comments.created_at)) * 86400.0",
    "postgresql": "extract(epoch from (min(e.created_at) - comments.created_at))",
}


def state_sql(dialect: str) -> str:
    """SET clause: a comment's ledger state from its events (the same definitions as the old pandas ledger)."""
    ev = "FROM comment_events e WHERE e.comment_id = comments.id"
    return (
        f"first_answer_seconds = (SELECT {SECONDS[dialect]} {ev} AND e.kind IN ('status', 'answer')), "
        f"ledger_status = COALESCE((SELECT e.to_status {ev} AND e.kind IN ('status', 'reopened') "
        "AND e.to_status IS NOT NULL ORDER BY e.created_at DESC, e.id DESC LIMIT 1), 'new'), "
        f"ever_resolved = EXISTS (SELECT 1 {ev} AND e.kind = 'status' AND e.to_status = 'resolved'), "
        f"confirmed_fixed = EXISTS (SELECT 1 {ev} AND e.kind = 'fixed_confirmed'), "
        f"reopened = EXISTS (SELECT 1 {ev} AND e.kind = 'reopened')"
    )


COUNT_KEY = "department_id, category, status, answered, ever_resolved, confirmed_fixed, reopened"
HOUR_KEY = "department_id, category, hour"
DAY_KEY = "department_id, category, day"


def _adds(d: str, r: str) -> list[str]:
    dep = f"COALESCE({r}.department_id, 0)"
    pub = f"{r}.moderation = 'published'"
    return [
        f"INSERT INTO comment_ledger_counts ({COUNT_KEY}, n) SELECT {dep}, {r}.category, {r}.ledger_status, "
        f"{r}.first_answer_seconds IS NOT NULL, {r}.ever_resolved, {r}.confirmed_fixed, {r}.reopened, 1 WHERE {pub} "
        f"ON CONFLICT ({COUNT_KEY}) DO UPDATE SET n = comment_ledger_counts.n + 1",
        f"INSERT INTO comment_answer_hours ({HOUR_KEY}, n) SELECT {dep}, {r}.category, {HOUR[d].format(r=r)}, 1 "
        f"WHERE {pub} AND {r}.first_answer_seconds IS NOT NULL "
        f"ON CONFLICT ({HOUR_KEY}) DO UPDATE SET n = comment_answer_hours.n + 1",
        f"INSERT INTO comment_open_days ({DAY_KEY}, n) SELECT {dep}, {r}.category, {DAY[d].format(r=r)}, 1 "
        f"WHERE {pub} AND {r}.ledger_status IN {OPEN} "
        f"ON CONFLICT ({DAY_KEY}) DO UPDATE SET n = comment_open_days.n + 1",
    ]


def _subs(d: str, r: str) -> list[str]:
    dep = f"department_id = COALESCE({r}.department_id, 0) AND category = {r}.category"
    pub = f"{r}.moderation = 'published'"
    flags = " AND ".join(f"{c} = {r}.{c}" for c in ("ever_resolved", "confirmed_fixed", "reopened"))
    return [
        f"UPDATE comment_ledger_counts SET n = n - 1 WHERE {pub} AND {dep} AND status = {r}.ledger_status "
        f"AND answered = ({r}.first_answer_seconds IS NOT NULL) AND {flags}",
        f"UPDATE comment_answer_hours SET n = n - 1 WHERE {pub} AND {r}.first_answer_seconds IS NOT NULL AND {dep} "
        f"AND hour = {HOUR[d].format(r=r)}",
        f"UPDATE comment_open_days SET n = n - 1 WHERE {pub} AND {r}.ledger_status IN {OPEN} AND {dep} "
        f"AND day = {DAY[d].format(r=r)}",
    ]


def rebuild_sql(d: str) -> list[str]:
    """Statements that recompute every comment's ledger state and the three summaries from scratch."""
    dep = "COALESCE(c.department_id, 0)"
    pub = "c.moderation = 'published'"
    return [
        f"UPDATE comments SET {state_sql(d)}",
        "DELETE FROM comment_ledger_counts",
        "DELETE FROM comment_answer_hours",
        "DELETE FROM comment_open_days",
        f"INSERT INTO comment_ledger_counts ({COUNT_KEY}, n) SELECT {dep}, c.category, c.ledger_status, "
        "c.first_answer_seconds IS NOT NULL, c.ever_resolved, c.confirmed_fixed, c.reopened, count(*) "
        f"FROM comments c WHERE {pub} GROUP BY 1, 2, 3, 4, 5, 6, 7",
        f"INSERT INTO comment_answer_hours ({HOUR_KEY}, n) SELECT {dep}, c.category, {HOUR[d].format(r='c')}, "
        f"count(*) FROM comments c WHERE {pub} AND c.first_answer_seconds IS NOT NULL GROUP BY 1, 2, 3",
        f"INSERT INTO comment_open_days ({DAY_KEY}, n) SELECT {dep}, c.category, {DAY[d].format(r='c')}, count(*) "
        f"FROM comments c WHERE {pub} AND c.ledger_status IN {OPEN} GROUP BY 1, 2, 3",
    ]


WATCHED = (
    "moderation, department_id, category, created_at, ledger_status, first_answer_seconds, ever_resolved, "
    "confirmed_fixed, reopened"
)
EVENT_KINDS = "('status', 'answer', 'reopened', 'fixed_confirmed')"
ANSWERED = "moderation = 'published' AND first_answer_seconds IS NOT NULL"


def upgrade() -> None:
    # Plain add_column (never batch mode: other tables point at comments with foreign keys).
    op.add_column("comments", sa.Column("ledger_status", sa.String(20), nullable=False, server_default="new"))
    op.add_column("comments", sa.Column("first_answer_seconds", sa.Float(), nullable=True))
    for col in ("ever_resolved", "confirmed_fixed", "reopened"):
        op.add_column("comments", sa.Column(col, sa.Boolean(), nullable=False, server_default=sa.false()))
    published = {"sqlite_where": sa.text(ANSWERED), "postgresql_where": sa.text(ANSWERED)}
    op.create_index("ix_comments_answer_dept_cat", "comments", ["department_id", "category", "first_answer_seconds"],
                    **published)
    op.create_index("ix_comments_answer_dept", "comments", ["department_id", "first_answer_seconds"], **published)
    op.create_index("ix_comments_answer", "comments", ["first_answer_seconds"], **published)
    # Keyset paging: the queue's overdue sort, "you said, we did" (resolved, newest resolution first), the
    # moderation queue.
    op.create_index("ix_comments_overdue", "comments", ["moderation", "first_response_at", "created_at", "id"])
    op.create_index("ix_comments_resolved", "comments", ["moderation", "status", "resolved_at", "id"])
    op.create_index("ix_comments_moderation_flags", "comments", ["moderation", "flag_count", "created_at", "id"])
    op.create_index("ix_comments_category_updated", "comments", ["category", "updated_at", "id"])  # Atom feeds
    op.create_index("ix_comments_district_updated", "comments", ["district_id", "updated_at", "id"])
    op.create_table(
        "comment_ledger_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("ever_resolved", sa.Boolean(), nullable=False),
        sa.Column("confirmed_fixed", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_ledger_counts")),
        sa.UniqueConstraint("department_id", "category", "status", "answered", "ever_resolved", "confirmed_fixed",
                            "reopened", name="uq_comment_ledger_counts_key"),
    )
    op.create_table(
        "comment_answer_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_answer_hours")),
        sa.UniqueConstraint("department_id", "category", "hour", name="uq_comment_answer_hours_key"),
    )
    op.create_table(
        "comment_open_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_open_days")),
        sa.UniqueConstraint("department_id", "category", "day", name="uq_comment_open_days_key"),
    )
    d = op.get_bind().dialect.name
    if d not in DAY:
        raise RuntimeError(f"ledger triggers: unsupported database {d}")
    state = f"UPDATE comments SET {state_sql(d)} WHERE id = {{r}}.comment_id"
    if d == "sqlite":
        live = "NOT EXISTS (SELECT 1 FROM comment_cell_counts_pause)"
        for when, r in (("INSERT", "NEW"), ("DELETE", "OLD")):
            op.execute(f"CREATE TRIGGER comment_ledger_event_{when.lower()[:3]} AFTER {when} ON comment_events "
                       f"WHEN {r}.kind IN {EVENT_KINDS} AND {live} BEGIN {state.format(r=r)}; END")
        adds = "; ".join(_adds(d, "NEW"))
        subs = "; ".join(_subs(d, "OLD"))
        op.execute(f"CREATE TRIGGER comment_ledger_ins AFTER INSERT ON comments WHEN {live} BEGIN {adds}; END")
        op.execute(f"CREATE TRIGGER comment_ledger_del AFTER DELETE ON comments WHEN {live} BEGIN {subs}; END")
        op.execute(f"CREATE TRIGGER comment_ledger_upd AFTER UPDATE OF {WATCHED} ON comments WHEN {live} "
                   f"BEGIN {subs}; {adds}; END")
    else:
        op.execute(f"""
CREATE FUNCTION comment_ledger_event_sync() RETURNS trigger AS $$
DECLARE r comment_events;
BEGIN
  IF EXISTS (SELECT 1 FROM comment_cell_counts_pause) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF r.kind IN {EVENT_KINDS} THEN
    {state.format(r="r")};
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER comment_ledger_event_sync AFTER INSERT OR DELETE ON comment_events "
                   "FOR EACH ROW EXECUTE FUNCTION comment_ledger_event_sync()")
        adds = ";\n    ".join(_adds(d, "NEW"))
        subs = ";\n    ".join(_subs(d, "OLD"))
        op.execute(f"""
CREATE FUNCTION comment_ledger_sync() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM comment_cell_counts_pause) THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {subs};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {adds};
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
        op.execute(f"CREATE TRIGGER comment_ledger_sync AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON comments "
                   "FOR EACH ROW EXECUTE FUNCTION comment_ledger_sync()")
    # Comments already stored.
    for stmt in rebuild_sql(d):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for t in ("comment_ledger_event_ins", "comment_ledger_event_del", "comment_ledger_ins", "comment_ledger_del",
                  "comment_ledger_upd"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}")
    else:
        op.execute("DROP TRIGGER IF EXISTS comment_ledger_event_sync ON comment_events")
        op.execute("DROP FUNCTION IF EXISTS comment_ledger_event_sync()")
        op.execute("DROP TRIGGER IF EXISTS comment_ledger_sync ON comments")
        op.execute("DROP FUNCTION IF EXISTS comment_ledger_sync()")
    for t in ("comment_ledger_counts", "comment_answer_hours", "comment_open_days"):
        op.drop_table(t)
    for ix in ("ix_comments_answer_dept_cat", "ix_comments_answer_dept", "ix_comments_answer", "ix_comments_overdue",
               "ix_comments_resolved", "ix_comments_moderation_flags", "ix_comments_category_updated",
               "ix_comments_district_updated"):
        op.drop_index(ix, table_name="comments")
    for col in ("ledger_status", "first_answer_seconds", "ever_resolved", "confirmed_fixed", "reopened"):
        op.drop_column("comments", col)
