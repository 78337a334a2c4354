"""havips list index: an account's HaVips in list order (created_at, id)

The list page (``GET /v1/havips``, DescribeHaVips) of an account with 100,000 HaVips
sorted them all to return the first 50 (benchmark #4: p50 58 ms, p99 148 ms on SQLite);
with this index the page is read in order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("havips", schema=None) as batch_op:
        batch_op.create_index("ix_havips_account_created", ["account_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("havips", schema=None) as batch_op:
        batch_op.drop_index("ix_havips_account_created")
