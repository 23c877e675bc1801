"""observation_rollups: hours are read from the readings; hour rows stay only for readings already removed

The hour rollups duplicated hourly readings one for one, and keeping them cost an import as much as the insert
itself. Hours are now grouped from the readings when read (data_sources/store/rollups.py) and stored only for
readings that retention removes. This drops the hour rows whose readings are still stored (they can be computed
again from them: the downgrade does) and keeps the others, the only record of removed readings; days and months
are unchanged.

Revision ID: 0903
Revises: 0803
"""
from alembic import op

revision = "0903"
down_revision = "0803"
branch_labels = None
depends_on = None

# "This hour row's readings are still stored", per dialect. SQLite probes the unique index on (feature_id,
# metric, time) with the hour's range (SQLite stores SQLAlchemy's text format, microseconds included).
# PostgreSQL must compare the truncated hour for equality instead: with the range, its planner hashes on
# (feature_id, metric) alone and filters every hour row against each of its feature's readings, which at 50 M
# readings ran for over 8 minutes without an end in sight; with the equality it is one hash join.
STILL_READ = {
    "sqlite": "o.time >= observation_rollups.bucket "
    "AND o.time < strftime('%Y-%m-%d %H:00:00.000000', observation_rollups.bucket, '+1 hour')",
    "postgresql": "date_trunc('hour', o.time) = observation_rollups.bucket",
}
HOUR = {
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', time)",
    "postgresql": "date_trunc('hour', time)",
}
COLS = "resolution, metric, bucket, feature_id, n, total, low, high"


def _dialect() -> str:
    d = op.get_bind().dialect.name
    if d not in HOUR:
        raise RuntimeError(f"observation_rollups: unsupported database {d}")
    return d


def upgrade() -> None:
    d = _dialect()
    op.execute(
        "DELETE FROM observation_rollups WHERE resolution = 'hour' AND EXISTS (SELECT 1 FROM observations o "
        "WHERE o.feature_id = observation_rollups.feature_id AND o.metric = observation_rollups.metric "
        f"AND {STILL_READ[d]})"
    )


def downgrade() -> None:
    d = _dialect()
    # 0802's code keeps an hour row for every stored hour: computed again from the readings.
    op.execute(
        f"INSERT INTO observation_rollups ({COLS}) SELECT 'hour', metric, {HOUR[d]}, feature_id, count(*), "
        "sum(value), min(value), max(value) FROM observations WHERE feature_id IS NOT NULL GROUP BY 2, 3, 4 "
        "ON CONFLICT (resolution, metric, bucket, feature_id) DO NOTHING"
    )
