"""Which next hops a route entry may have, and the rules each next hop obeys.

``NEXT_HOPS`` is the table: for each kind of next hop, the domain class it names,
whether it must be in a changeable status and whether it counts toward the
``havip_routes_per_table`` quota. ``check_next_hop`` holds for the object the caller
loaded; ``check_havip_route_quota`` for the table's existing entries. A destination's
own rule (no overlap with the VPC or another entry) is ``rules.check_route_destination``.

Called by ``service.routes`` in this order: the next hop (exists, may be routed to, in
the table's VPC), the destination, the quota. Pure: the caller loads and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from havip.domain import quotas, status
from havip.domain.errors import InvalidParameter
from havip.domain.model import HaVip, Instance, NetworkInterface, NextHopType
from havip.domain.quotas import Quota

NextHop = HaVip | Instance | NetworkInterface


@dataclass(frozen=True, kw_only=True)
class NextHopRule:
    kind: type[NextHop]
    """The domain class a next hop of this kind names."""
    havip_quota: bool
    """Whether an entry with this next hop counts toward ``havip_routes_per_table``."""
    must_be_mutable: bool
    """Whether the next hop must be in a changeable status (a HaVip being deleted is not)."""


NEXT_HOPS: Mapping[NextHopType, NextHopRule] = {
    NextHopType.HAVIP: NextHopRule(kind=HaVip, havip_quota=True, must_be_mutable=True),
    NextHopType.INSTANCE: NextHopRule(kind=Instance, havip_quota=False, must_be_mutable=False),
    NextHopType.NETWORK_INTERFACE: NextHopRule(kind=NetworkInterface, havip_quota=False, must_be_mutable=False),
}


def check_next_hop(next_hop_type: NextHopType, hop: NextHop, next_hop_id: str, vpc_id: str) -> None:
    """``hop`` (the loaded ``next_hop_id``) may be the next hop of an entry in VPC ``vpc_id``.

    A HaVip must be Available or InUse; every next hop must be in the route table's VPC.
    """
    rule = NEXT_HOPS[next_hop_type]
    if not isinstance(hop, rule.kind):
        raise TypeError(f"a {next_hop_type.value} next hop must be a {rule.kind.__name__}, not {type(hop).__name__}")
    if rule.must_be_mutable and isinstance(hop, HaVip):
        status.check_mutable(hop, "route to")
    if hop.vpc_id != vpc_id:
        raise InvalidParameter(
            f"next hop {next_hop_id} is not in the route table's VPC {vpc_id}", code="InvalidNextHop.VpcMismatch"
        )


def counts_toward_havip_quota(next_hop_type: NextHopType) -> bool:
    """Whether a new entry with this next hop must fit in ``havip_routes_per_table``."""
    return NEXT_HOPS[next_hop_type].havip_quota


def check_havip_route_quota(existing: Iterable[NextHopType], limit: int, route_table_id: str) -> None:
    """One more HaVip-routed entry fits in the table's ``havip_routes_per_table`` quota of ``limit``.

    ``existing``: the next-hop types of the table's entries; those that count are counted.
    Called only for a next hop that ``counts_toward_havip_quota``.
    """
    quotas.check(
        Quota.HAVIP_ROUTES_PER_TABLE,
        limit,
        sum(1 for t in existing if NEXT_HOPS[t].havip_quota),
        f"adding a route entry to a HaVip in route table {route_table_id}",
    )
