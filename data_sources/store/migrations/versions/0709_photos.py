"""photos: citizens' and officials' photos on comments, stored re-encoded without metadata

Revision ID: 0709
Revises: 0701
"""

import sqlalchemy as sa
from alembic import op

revision = "0709"
down_revision = "0701"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("comment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("blurred", sa.Boolean(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name=op.f("fk_photos_comment_id_comments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["comment_events.id"], name=op.f("fk_photos_event_id_comment_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    op.create_index(op.f("ix_photos_comment_id"), "photos", ["comment_id"])
    op.create_index(op.f("ix_photos_event_id"), "photos", ["event_id"])
    op.create_index(op.f("ix_photos_created_at"), "photos", ["created_at"])


def downgrade() -> None:
    op.drop_table("photos")
