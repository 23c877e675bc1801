"""refresh_runs: rows read, skipped rows by reason and unmapped attribute values per run

Revision ID: 0705
Revises: 0706
"""
from alembic import op
import sqlalchemy as sa

revision = "0705"
down_revision = "0706"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_runs") as batch:
        batch.add_column(sa.Column("rows_read", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("skipped_by_reason", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("unmapped", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_runs") as batch:
        batch.drop_column("unmapped")
        batch.drop_column("skipped_by_reason")
        batch.drop_column("rows_read")
