"""comment_cell_counts: per-week, per-cell counts of published comments, kept by triggers

Revision ID: 0601
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0601"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY = "week, category, status, district_id, h3_r9"
COLS = "week, category, status, district_id, h3_r6, h3_r7, h3_r8, h3_r9, n"
# Monday-based weeks since 1970-01-05: day number + 3, integer-divided by 7 (1970-01-01 was a Thursday).
WEEK = {
    "sqlite": "((CAST(julianday({r}.created_at) - 2440587.5 AS INTEGER) + 3) / 7)",
    "postgresql": "((floor(extract(epoch from {r}.created_at) / 86400)::int + 3) / 7)",
}


def _values(dialect: str, r: str) -> str:
    return (f"{WEEK[dialect].format(r=r)}, {r}.category, {r}.status, COALESCE({r}.district_id, 0), "
            f"COALESCE({r}.h3_r6, 0), COALESCE({r}.h3_r7, 0), COALESCE({r}.h3_r8, 0), COALESCE({r}.h3_r9, 0)")


def _match(dialect: str, r: str) -> str:
    return (f"week = {WEEK[dialect].format(r=r)} AND category = {r}.category AND status = {r}.status "
            f"AND district_id = COALESCE({r}.district_id, 0) AND h3_r9 = COALESCE({r}.h3_r9, 0)")


def upgrade() -> None:
    op.create_table(
        "comment_cell_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("h3_r6", sa.BigInteger(), nullable=False),
        sa.Column("h3_r7", sa.BigInteger(), nullable=False),
        sa.Column("h3_r8", sa.BigInteger(), nullable=False),
        sa.Column("h3_r9", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_cell_counts")),
        sa.UniqueConstraint("week", "category", "status", "district_id", "h3_r9", name="uq_comment_cell_counts_key"),
    )
    for r in (6, 7, 8, 9):
        op.create_index(f"ix_comment_cell_counts_r{r}", "comment_cell_counts",
                        [f"h3_r{r}", "week", "category", "status", "district_id", "n"], unique=False)
    op.create_table("comment_cell_counts_pause", sa.Column("id", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_cell_counts_pause")))
    d = op.get_bind().dialect.name
    if d not in WEEK:
        raise RuntimeError(f"comment_cell_counts triggers: unsupported database {d}")
    add = f"INSERT INTO comment_cell_counts ({COLS}) SELECT {_values(d, 'NEW')}, 1 WHERE NEW.moderation = 'published' " \
          f"ON CONFLICT ({KEY}) DO UPDATE SET n = comment_cell_counts.n + 1"
    sub = f"UPDATE comment_cell_counts SET n = n - 1 WHERE {_match(d, 'OLD')}"
    if d == "sqlite":
        live = "NOT EXISTS (SELECT 1 FROM comment_cell_counts_pause)"
        op.execute(f"CREATE TRIGGER comment_cells_ins AFTER INSERT ON comments WHEN {live} BEGIN {add}; END")
        op.execute(f"CREATE TRIGGER comment_cells_del AFTER DELETE ON comments WHEN OLD.moderation = 'published' AND {live} "
                   f"BEGIN {sub}; END")
        op.execute("CREATE TRIGGER comment_cells_upd AFTER UPDATE OF status, moderation, category, district_id, created_at, "
                   f"h3_r9 ON comments WHEN {live} BEGIN {sub} AND OLD.moderation = 'published'; {add}; END")
    else:
        op.execute(f"""
CREATE FUNCTION comment_cells_sync() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM comment_cell_counts_pause) THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.moderation = 'published' THEN
    {sub};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {add};
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER comment_cells_sync AFTER INSERT OR DELETE OR UPDATE OF status, moderation, category, "
                   "district_id, created_at, h3_r9 ON comments FOR EACH ROW EXECUTE FUNCTION comment_cells_sync()")
    # Comments already stored.
    op.execute(f"INSERT INTO comment_cell_counts ({COLS}) SELECT {_values(d, 'c')}, count(*) FROM comments c "
               f"WHERE c.moderation = 'published' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for t in ("comment_cells_ins", "comment_cells_del", "comment_cells_upd"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}")
    else:
        op.execute("DROP TRIGGER IF EXISTS comment_cells_sync ON comments")
        op.execute("DROP FUNCTION IF EXISTS comment_cells_sync()")
    for r in (6, 7, 8, 9):
        op.drop_index(f"ix_comment_cell_counts_r{r}", table_name="comment_cell_counts")
    op.drop_table("comment_cell_counts")
    op.drop_table("comment_cell_counts_pause")
