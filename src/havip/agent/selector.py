"""How a packet from a port finds its VPC's routing table: the ``TableSelector`` seam.

This kernel has no VRF driver, so the table is chosen by policy routing. The one
implementation, ``IifRules``, gives every port two rules::

    10000: iif <port> lookup <vpc table>   proto 77
    10001: iif <port> unreachable          proto 77

Chosen over the fwmark-per-VPC variant (an nftables map port -> mark, one rule per VPC)
because it depends on nothing but netlink: a port is isolated from the moment its rules
exist, even if the nftables table is missing or being replaced, whereas an unmarked
packet under the fwmark variant would fall through to the host's main table. The cost
is two rules per port and a linear rule walk; a ``FwmarkRules`` or ``VrfSelector`` can
replace it behind this protocol where that matters. Pure: returns actions, no I/O.
"""

from __future__ import annotations

from typing import Protocol

from havip.agent import marks
from havip.agent.actions import Action, AddRule, DeleteRule
from havip.agent.desired import DesiredHost
from havip.agent.observed import Observed, Rule


class TableSelector(Protocol):
    def plan(self, desired: DesiredHost, observed: Observed) -> tuple[list[Action], list[Action]]:
        """(actions that bind ports to their tables, actions that remove stale bindings)."""
        ...


class IifRules:
    def wanted(self, desired: DesiredHost) -> set[Rule]:
        out: set[Rule] = set()
        for p in desired.ports:
            out.add(Rule(priority=marks.RULE_PREF_LOOKUP, iif=p.device, table=p.table, proto=marks.RTPROT_HAVIP))
            out.add(Rule(priority=marks.RULE_PREF_UNREACHABLE, iif=p.device, table=None, proto=marks.RTPROT_HAVIP))
        return out

    def plan(self, desired: DesiredHost, observed: Observed) -> tuple[list[Action], list[Action]]:
        wanted = self.wanted(desired)
        have = {r for r in observed.rules if marks.is_our_rule(r.priority, r.proto)}
        adds: list[Action] = [AddRule(r.priority, r.iif, r.table) for r in sorted(wanted - have, key=_key)]
        dels: list[Action] = [DeleteRule(r.priority, r.iif, r.table) for r in sorted(have - wanted, key=_key)]
        return adds, dels


def _key(r: Rule) -> tuple[int, str, int]:
    return (r.priority, r.iif or "", r.table or 0)
