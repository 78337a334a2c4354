"""a history that a flood cannot bury: merged refusals

``havip_events.count`` (integer, not null, 1), ``first_seen`` and ``last_seen`` (not null):
repeated refusals of one interface for one reason are one entry with a count and the times of
their first and latest occurrence (``havip.domain.history``). Existing entries each stand for
one occurrence: count 1, first and last seen at their ``at``. An index on (havip_id, kind, at)
finds a HaVip's newest entry of a kind (the refusal a new one merges into) and its oldest
(what the retention drops) without reading the whole history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("havip_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("first_seen", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(), nullable=True))
    op.execute("UPDATE havip_events SET first_seen = at, last_seen = at")
    with op.batch_alter_table("havip_events", schema=None) as batch_op:
        batch_op.alter_column("first_seen", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("last_seen", existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index("ix_havip_events_havip_kind_at", ["havip_id", "kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("havip_events", schema=None) as batch_op:
        batch_op.drop_index("ix_havip_events_havip_kind_at")
        batch_op.drop_column("last_seen")
        batch_op.drop_column("first_seen")
        batch_op.drop_column("count")
