"""several hosts: each HaVip's claim epoch

``havips.epoch`` (big integer, not null, 0 for the HaVips that exist): the epoch of the
holder's claim. Agents number their claims with the highest epoch they have seen + 1 and
the control plane orders claims by it, never by clocks; it only grows, and it survives a
restart of every component because it lives here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("havips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("havips", schema=None) as batch_op:
        batch_op.drop_column("epoch")
