"""observations partitioned by month on PostgreSQL (range on time), a BRIN index on time; SQLite unchanged

Every row is kept: the old table is renamed, the partitioned one created with a partition for each month from
its oldest row to three months after the current one (and a default partition for any other month), the rows
copied over, the id sequence handed to the new table, the old table dropped. The primary key becomes (id, time):
PostgreSQL requires the partition key in every unique constraint (the (feature, metric, time) one has it).

Revision ID: 0801
Revises: 0703
"""

from alembic import op

revision = "0801"
down_revision = "0703"
branch_labels = None
depends_on = None

COLUMNS = "id, feature_id, time, metric, value, unit"


def _table(name: str, pk: str, partitioned: bool) -> str:
    return (
        f"CREATE TABLE {name} ("
        "id bigint NOT NULL DEFAULT nextval('observations_id_seq'::regclass), "
        "feature_id integer NOT NULL, "
        "time timestamp without time zone NOT NULL, "
        "metric varchar(50) NOT NULL, "
        "value double precision NOT NULL, "
        "unit varchar(30) NOT NULL, "
        f"CONSTRAINT pk_observations PRIMARY KEY ({pk}), "
        "CONSTRAINT uq_observations_feature_metric_time UNIQUE (feature_id, metric, time), "
        "CONSTRAINT fk_observations_feature_id_features FOREIGN KEY (feature_id) "
        "REFERENCES features (id) ON DELETE CASCADE)" + (" PARTITION BY RANGE (time)" if partitioned else "")
    )


def _set_aside() -> None:
    """Rename the current table and its constraints and index out of the way (their names are schema-wide)."""
    op.execute("ALTER TABLE observations RENAME TO observations_old")
    for c in ("pk_observations", "uq_observations_feature_metric_time", "fk_observations_feature_id_features"):
        op.execute(f"ALTER TABLE observations_old RENAME CONSTRAINT {c} TO {c}_old")
    op.execute("ALTER INDEX IF EXISTS ix_observations_metric_time RENAME TO ix_observations_metric_time_old")


def _take_over() -> None:
    """Copy every row of the old table into the new one, give it the id sequence, drop the old table."""
    op.execute(f"INSERT INTO observations ({COLUMNS}) SELECT {COLUMNS} FROM observations_old")
    op.execute("ALTER SEQUENCE observations_id_seq OWNED BY observations.id")
    op.execute("DROP TABLE observations_old")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no partitions: its observations table stays as it is
    _set_aside()
    op.execute(_table("observations", "id, time", partitioned=True))
    op.execute("CREATE TABLE observations_default PARTITION OF observations DEFAULT")
    # A partition per month from the oldest row (at most ten years back; older rows go to the default partition)
    # to three months ahead, named as data_sources.store.partitions names them.
    op.execute(
        """
        DO $$
        DECLARE m date;
        BEGIN
          FOR m IN SELECT generate_series(
                     date_trunc('month', GREATEST(LEAST(COALESCE((SELECT min(time) FROM observations_old), t.now), t.now),
                                                  t.now - interval '10 years')),
                     date_trunc('month', t.now) + interval '3 months',
                     interval '1 month')::date
                   FROM (SELECT now() AT TIME ZONE 'UTC' AS now) t
          LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES FROM (%L) TO (%L)',
                           'observations_' || to_char(m, 'YYYYMM'), m, (m + interval '1 month')::date);
          END LOOP;
        END $$
        """
    )
    _take_over()
    op.execute("CREATE INDEX ix_observations_metric_time ON observations (metric, time)")
    op.execute("CREATE INDEX ix_observations_time_brin ON observations USING brin (time)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("ALTER INDEX IF EXISTS ix_observations_time_brin RENAME TO ix_observations_time_brin_old")
    op.execute(_table("observations", "id", partitioned=False))
    _take_over()  # dropping the partitioned table drops its partitions
    op.execute("CREATE INDEX ix_observations_metric_time ON observations (metric, time)")
