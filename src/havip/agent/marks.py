"""The marks that say a kernel object belongs to the havip agent.

Both the planner (to decide what it may delete) and the data plane (to filter what it
reads back) use these, and nothing else: an object without one of these marks is never
touched. Pure constants and predicates; no I/O.
"""

from __future__ import annotations

# Routes and policy rules carry this protocol number (``ip route ... proto 77``). It is
# unassigned in iproute2's rt_protos table.
RTPROT_HAVIP = 77

# Policy rules live at these two priorities: the per-port (or per-VPC) lookup, then a
# catch-all that makes sure nothing from a port ever falls through to the main table.
RULE_PREF_LOOKUP = 10000
RULE_PREF_UNREACHABLE = 10001
RULE_PREFS = (RULE_PREF_LOOKUP, RULE_PREF_UNREACHABLE)

# VPC routing tables are allocated from this range.
TABLE_MIN = 20000
TABLE_MAX = 29999

# Devices the agent configured carry an ifalias with this prefix:
#   havip:port:<interface id>   an adopted device (a tap or veth someone else created)
#   havip:veth:<interface id>   a veth the agent created itself (deleted with the port)
#   havip:sink:<vpc id>         the IFB sink of a VPC's catch-all routes
ALIAS_PREFIX = "havip:"
ALIAS_PORT = "havip:port:"
ALIAS_VETH = "havip:veth:"
ALIAS_SINK = "havip:sink:"

# nftables tables the agent owns.
NFT_PREFIX = "havip_"
NFT_ANTISPOOF = "havip_antispoof"  # family netdev
NFT_GARP = "havip_garp"  # family arp

# The one gateway MAC every port of every VPC answers with.
GATEWAY_MAC = "ee:ff:ff:ff:ff:ff"

# Sink devices are named after their table so the name alone is unique and short.
SINK_NAME_PREFIX = "havip-s"


def is_our_alias(alias: str | None) -> bool:
    return bool(alias) and str(alias).startswith(ALIAS_PREFIX)


def is_our_rule(priority: int | None, protocol: int | None) -> bool:
    return priority in RULE_PREFS and protocol == RTPROT_HAVIP


def is_our_table(table: int) -> bool:
    return TABLE_MIN <= table <= TABLE_MAX


def is_our_nft_table(name: str) -> bool:
    return name.startswith(NFT_PREFIX)


def sink_name(table: int) -> str:
    return f"{SINK_NAME_PREFIX}{table}"
