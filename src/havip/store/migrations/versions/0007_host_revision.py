"""a change feed per host: each host's desired-state revision

``hosts.revision`` (big integer, not null): the global revision (``state_revision``) of
the last write that changed the host's desired state. Agents watch their own host's
revision, so a write wakes only the hosts it touches. Existing hosts start at the current
global revision: what their agents applied last stays in sync.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute("UPDATE hosts SET revision = (SELECT value FROM state_revision WHERE id = 1)")


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("revision")
