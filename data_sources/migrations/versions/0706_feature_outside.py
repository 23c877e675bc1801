"""feature_outside: features outside the city's footprint are stored but not counted in its figures

Revision ID: 0706
Revises: 0708
"""
from alembic import op
import sqlalchemy as sa

revision = "0706"
down_revision = "0708"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.add_column(sa.Column("outside", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.drop_column("outside")
