"""officials.session_epoch (revocable sessions); stored citizens' emails checked and normalised

Revision ID: 0702
Revises: 0709

Emails: rows holding ``<`` or ``>`` (e.g. ``Name <a@b.example>``, pasted from a mail client) keep only the
address when email-validator (offline) accepts it, and lose the email otherwise: an address no mail server
accepts can never be written to, and the comment itself is untouched.
"""
import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

revision = "0702"
down_revision = "0709"
branch_labels = None
depends_on = None


def _clean(address: str) -> str | None:
    try:
        address.encode("utf-8")
        return validate_email(address.strip(), check_deliverability=False, allow_display_name=True, strict=True).normalized
    except (EmailNotValidError, UnicodeError):
        return None


def upgrade() -> None:
    with op.batch_alter_table("officials") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    comments = sa.table("comments", sa.column("id", sa.Integer()), sa.column("email", sa.String()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(comments.c.id, comments.c.email).where(
        sa.or_(comments.c.email.like("%<%"), comments.c.email.like("%>%")))).all()
    for cid, email in rows:
        conn.execute(sa.update(comments).where(comments.c.id == cid).values(email=_clean(email)))


def downgrade() -> None:
    # In place, not in batch mode: rebuilding ``officials`` on SQLite would set every comment event's and audit
    # entry's official to NULL through their foreign keys (ON DELETE SET NULL).
    op.drop_column("officials", "session_epoch")
