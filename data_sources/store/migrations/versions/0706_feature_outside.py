"""feature_outside: features outside the city's footprint are stored but not counted in its figures

Revision ID: 0706
Revises: 0708

A plain ALTER TABLE ... ADD COLUMN, not Alembic's batch mode: on SQLite, batch mode rebuilds ``features`` (copy,
drop, rename), and dropping the old table fires the foreign keys that point at it: every observation (ON DELETE
CASCADE) and every comment's feature (ON DELETE SET NULL) would be lost. SQLite adds a NOT NULL column with a
constant default in place, as PostgreSQL does.
"""
from alembic import op
import sqlalchemy as sa

revision = "0706"
down_revision = "0708"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("features", sa.Column("outside", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("features", "outside")  # SQLite 3.35+ drops a plain column in place too
