"""api_keys.department_id (an integrator key scoped to one department) and audit_log.integrator (who acted
through a key, when no official did)

Revision ID: 0708
Revises: 0702
"""
import sqlalchemy as sa
from alembic import op

revision = "0708"
down_revision = "0702"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as b:
        b.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        b.create_foreign_key(op.f("fk_api_keys_department_id_departments"), "departments", ["department_id"], ["id"],
                             ondelete="SET NULL")
    with op.batch_alter_table("audit_log") as b:
        b.add_column(sa.Column("integrator", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as b:
        b.drop_column("integrator")
    with op.batch_alter_table("api_keys") as b:
        b.drop_constraint(op.f("fk_api_keys_department_id_departments"), type_="foreignkey")
        b.drop_column("department_id")
