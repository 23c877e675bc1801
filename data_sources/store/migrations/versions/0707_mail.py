"""mail: addresses, subscriptions (comment updates, area alerts) and the outbox

Revision ID: 0707
Revises: 0705
"""
from alembic import op
import sqlalchemy as sa

revision = "0707"
down_revision = "0705"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_addresses")),
        sa.UniqueConstraint("email", name=op.f("uq_mail_addresses_email")),
    )
    op.create_table(
        "mail_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("comment_id", BIGID, nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("last_comment_id", sa.BigInteger(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["address_id"], ["mail_addresses.id"], ondelete="CASCADE",
                                name=op.f("fk_mail_subscriptions_address_id_mail_addresses")),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE",
                                name=op.f("fk_mail_subscriptions_comment_id_comments")),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"], ondelete="CASCADE",
                                name=op.f("fk_mail_subscriptions_district_id_districts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_subscriptions")),
        sa.UniqueConstraint("token", name=op.f("uq_mail_subscriptions_token")),
        sa.UniqueConstraint("address_id", "comment_id", name="uq_mail_subscriptions_address_comment"),
    )
    op.create_index(op.f("ix_mail_subscriptions_address_id"), "mail_subscriptions", ["address_id"])
    op.create_index(op.f("ix_mail_subscriptions_comment_id"), "mail_subscriptions", ["comment_id"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sending_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["mail_subscriptions.id"], ondelete="CASCADE",
                                name=op.f("fk_mail_outbox_subscription_id_mail_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_outbox_dedupe_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
    )
    op.create_index("ix_mail_outbox_status_next", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_mail_outbox_subscription_id"), "mail_outbox", ["subscription_id"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("mail_subscriptions")
    op.drop_table("mail_addresses")
