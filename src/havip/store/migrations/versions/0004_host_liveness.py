"""host liveness: when each host's agent was last seen, its version, the revision it applied

Written by the agents' long poll (a heartbeat, no revision bump); read by ``havip host
list`` and ``GET /v1/hosts`` to show each agent up, down (silent past its lease) or never seen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_seen_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("agent_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("applied_revision", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("applied_revision")
        batch_op.drop_column("agent_version")
        batch_op.drop_column("agent_seen_at")
