"""supports and flags: a keyed hash of the client's address, one vote per address per comment

Revision ID: 0703
Revises: 0707
"""
from alembic import op
import sqlalchemy as sa

revision = "0703"
down_revision = "0707"
branch_labels = None
depends_on = None

TABLES = {"supports": "uq_supports_comment_address", "flags": "uq_flags_comment_address"}


def upgrade() -> None:
    for table, constraint in TABLES.items():
        # batch mode: SQLite cannot add a constraint to an existing table without rebuilding it.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
            batch.create_unique_constraint(constraint, ["comment_id", "address_hash"])


def downgrade() -> None:
    for table, constraint in TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(constraint, type_="unique")
            batch.drop_column("address_hash")
