"""several hosts: each host's underlay address, each VPC's VNI

``hosts.underlay`` (nullable, unique): the IPv4 address other hosts tunnel a VPC's traffic
to; a host without one keeps today's one-host behaviour. ``vpcs.vni`` (unique, not null):
the VXLAN network identifier of the VPC, allocated by the control plane when a VPC is
created; the VPCs that exist when this migration runs get 1000, 1001, ... in the order
they were created (then by id), as ``rules.next_vni`` would have given them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FIRST_VNI = 1000  # rules.FIRST_VNI when this migration was written (a migration never imports the code it migrates)


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("underlay", sa.String(length=15), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_hosts_underlay"), ["underlay"])
    with op.batch_alter_table("vpcs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vni", sa.Integer(), nullable=True))
    conn = op.get_bind()
    vpcs = sa.table("vpcs", sa.column("id", sa.String()), sa.column("created_at"), sa.column("vni", sa.Integer()))
    ids = conn.execute(sa.select(vpcs.c.id).order_by(vpcs.c.created_at, vpcs.c.id)).scalars().all()
    if ids:  # one statement, executed for every row (executemany)
        conn.execute(
            sa.update(vpcs).where(vpcs.c.id == sa.bindparam("vpc_id")).values(vni=sa.bindparam("new_vni")),
            [{"vpc_id": vpc_id, "new_vni": FIRST_VNI + i} for i, vpc_id in enumerate(ids)],
        )
    with op.batch_alter_table("vpcs", schema=None) as batch_op:
        batch_op.alter_column("vni", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_vpcs_vni"), ["vni"])


def downgrade() -> None:
    with op.batch_alter_table("vpcs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_vpcs_vni"), type_="unique")
        batch_op.drop_column("vni")
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_hosts_underlay"), type_="unique")
        batch_op.drop_column("underlay")
