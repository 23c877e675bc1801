"""PostgreSQL: observations' link to features checked once per statement instead of once per row; SQLite unchanged

The foreign key fk_observations_feature_id_features checked every inserted reading with its own lookup and row
lock on features: 38 % of a 250,000-row import batch (1.36 s of 3.57 s, EXPLAIN ANALYZE on a quiet 2-core
machine). The same rules are now kept by statement-level triggers with transition tables:

- after an INSERT or UPDATE on observations: the features the statement wrote readings for are locked FOR KEY
  SHARE, as a foreign key locks them (a concurrent delete of one waits for the commit), then any reading whose
  feature does not exist fails the statement with SQLSTATE 23503 (foreign_key_violation), as before;
- after a DELETE on features: their readings are deleted (ON DELETE CASCADE, as before);
- an UPDATE of features.id is refused (nothing changes an id; the foreign key's NO ACTION refused it too when
  readings referred to it).

observation_rollups keeps its foreign key (a batch writes a few hundred rollup rows, not a quarter million).
The downgrade adds the foreign key back (validating every stored reading).

Revision ID: 0904
Revises: 0903
"""

from alembic import op

revision = "0904"
down_revision = "0903"
branch_labels = None
depends_on = None

FK = "fk_observations_feature_id_features"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite checks its foreign key cheaply in the same B-tree pass: it keeps it
    op.execute(
        """
        CREATE FUNCTION observations_feature_check() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE missing integer;
        BEGIN
          PERFORM 1 FROM features f WHERE f.id IN (SELECT DISTINCT feature_id FROM written) FOR KEY SHARE OF f;
          SELECT w.feature_id INTO missing FROM written w
           WHERE NOT EXISTS (SELECT 1 FROM features f WHERE f.id = w.feature_id) LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'insert or update on table "observations" violates foreign key constraint "%"',
                            'fk_observations_feature_id_features'
              USING ERRCODE = 'foreign_key_violation',
                    DETAIL = format('Key (feature_id)=(%s) is not present in table "features".', missing);
          END IF;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER observations_feature_check_insert AFTER INSERT ON observations "
        "REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION observations_feature_check()"
    )
    op.execute(
        "CREATE TRIGGER observations_feature_check_update AFTER UPDATE ON observations "
        "REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION observations_feature_check()"
    )
    op.execute(
        """
        CREATE FUNCTION features_delete_observations() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM observations o USING gone g WHERE o.feature_id = g.id;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER features_delete_observations AFTER DELETE ON features "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION features_delete_observations()"
    )
    op.execute(
        """
        CREATE FUNCTION features_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'features.id does not change (observations refer to it)'
            USING ERRCODE = 'foreign_key_violation';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER features_keep_id BEFORE UPDATE OF id ON features FOR EACH ROW "
        "WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION features_keep_id()"
    )
    op.execute(f"ALTER TABLE observations DROP CONSTRAINT {FK}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER features_keep_id ON features")
    op.execute("DROP TRIGGER features_delete_observations ON features")
    op.execute("DROP TRIGGER observations_feature_check_update ON observations")
    op.execute("DROP TRIGGER observations_feature_check_insert ON observations")
    op.execute("DROP FUNCTION features_keep_id()")
    op.execute("DROP FUNCTION features_delete_observations()")
    op.execute("DROP FUNCTION observations_feature_check()")
    op.execute(
        f"ALTER TABLE observations ADD CONSTRAINT {FK} FOREIGN KEY (feature_id) REFERENCES features (id) "
        "ON DELETE CASCADE"
    )
