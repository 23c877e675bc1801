"""observation_rollups: count, sum, min, max per feature, metric and hour, day or month, filled from the stored rows

Revision ID: 0802
Revises: 0801
"""
from alembic import op
import sqlalchemy as sa

revision = "0802"
down_revision = "0801"
branch_labels = None
depends_on = None

# The first instant of each bucket, as data_sources/store/rollups.py computes it (SQLite stores SQLAlchemy's text
# format, microseconds included, so that range comparisons with bound datetimes stay exact).
BUCKET = {
    "sqlite": {
        "hour": "strftime('%Y-%m-%d %H:00:00.000000', {c})",
        "day": "strftime('%Y-%m-%d 00:00:00.000000', {c})",
        "month": "strftime('%Y-%m-01 00:00:00.000000', {c})",
    },
    "postgresql": {r: f"date_trunc('{r}', {{c}})" for r in ("hour", "day", "month")},
}
COLS = "resolution, metric, bucket, feature_id, n, total, low, high"


def upgrade() -> None:
    op.create_table(
        "observation_rollups",
        sa.Column("resolution", sa.String(length=5), nullable=False),
        sa.Column("metric", sa.String(length=50), nullable=False),
        sa.Column("bucket", sa.DateTime(), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["feature_id"], ["features.id"], name=op.f("fk_observation_rollups_feature_id_features"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resolution", "metric", "bucket", "feature_id", name=op.f("pk_observation_rollups")),
    )
    d = op.get_bind().dialect.name
    if d not in BUCKET:
        raise RuntimeError(f"observation_rollups: unsupported database {d}")
    b = BUCKET[d]
    # Rows already stored: hours from the readings, days from the hours, months from the days.
    op.execute(f"INSERT INTO observation_rollups ({COLS}) SELECT 'hour', metric, {b['hour'].format(c='time')}, "
               "feature_id, count(*), sum(value), min(value), max(value) FROM observations GROUP BY 2, 3, 4")
    for res, finer in (("day", "hour"), ("month", "day")):
        op.execute(f"INSERT INTO observation_rollups ({COLS}) SELECT '{res}', metric, {b[res].format(c='bucket')}, "
                   f"feature_id, sum(n), sum(total), min(low), max(high) FROM observation_rollups "
                   f"WHERE resolution = '{finer}' GROUP BY 2, 3, 4")
    op.create_index("ix_observation_rollups_feature_id", "observation_rollups", ["feature_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_observation_rollups_feature_id", table_name="observation_rollups")
    op.drop_table("observation_rollups")
