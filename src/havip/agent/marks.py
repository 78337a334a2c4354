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

# The tunnel's policy rules (a host with an underlay address only), after the ports':
#   10002: tun_id <VNI> lookup <vpc table>   (a decapsulated packet: its VPC from its VNI)
#   10003: iif <tunnel> unreachable          (a VNI without a rule never reaches the main table)
#   10004: iif lo fwmark PORT|T lookup T suppress_prefixlength 0
#          (the host's own ICMP errors about a port's packet, e.g. fragmentation-needed
#          when it does not fit the tunnel, go back through the VPC's table:
#          net.ipv4.fwmark_reflect gives them the mark the havip_tunnel table set)
RULE_PREF_TUNNEL = 10002
RULE_PREF_TUNNEL_UNREACHABLE = 10003
RULE_PREF_TUNNEL_REPLY = 10004
TUNNEL_RULE_PREFS = (RULE_PREF_TUNNEL, RULE_PREF_TUNNEL_UNREACHABLE, RULE_PREF_TUNNEL_REPLY)

# VPC routing tables are allocated from this range.
TABLE_MIN = 20000
TABLE_MAX = 29999

# The egress table: one default route via the uplink's gateway, for traffic that
# leaves the host with an EIP as its source (and nothing else ever looks it up).
EGRESS_TABLE = 19999

# Policy rules of the EIP path, consulted before the per-port rules:
#   9000: fwmark EGRESS|T lookup T suppress_prefixlength 0   (a VPC's own routes win)
#   9001: fwmark EGRESS/0xffff0000 lookup EGRESS_TABLE       (the rest leaves by the uplink)
#   9002: iif <uplink> fwmark INBOUND|T lookup T              (EIP traffic, translated, into its VPC)
RULE_PREF_EGRESS_VPC = 9000
RULE_PREF_EGRESS = 9001
RULE_PREF_INBOUND = 9002
NAT_RULE_PREFS = (RULE_PREF_EGRESS_VPC, RULE_PREF_EGRESS, RULE_PREF_INBOUND)

# Packet marks (nftables sets them in the havip_nat table; the rules above match them).
# The high half says what the mark is, the low half is the VPC's table; conntrack
# zones are the VPC's table too, so overlapping VPC addresses never share a flow.
MARK_MASK = 0xFFFF0000
MARK_FULL = 0xFFFFFFFF
MARK_INBOUND = 0x48560000  # "HV": arrived by the uplink for an EIP
MARK_EGRESS = 0x48570000  # "HW": sent from an address that has an EIP
MARK_PORT = 0x48580000  # "HX": came from a port (with a tunnel; unless already marked for an EIP)
MARK_TUNNEL = 0x48590000  # "HY": came through the tunnel in a VPC whose EIPs this host translates

# Devices the agent configured carry an ifalias with this prefix:
#   havip:port:<interface id>   an adopted device (a tap or veth someone else created)
#   havip:veth:<interface id>   a veth the agent created itself (deleted with the port)
#   havip:sink:<vpc id>         the IFB sink of a VPC's catch-all routes
#   havip:tunnel                the host's VXLAN-GPE device (several hosts)
ALIAS_PREFIX = "havip:"
ALIAS_PORT = "havip:port:"
ALIAS_VETH = "havip:veth:"
ALIAS_SINK = "havip:sink:"
ALIAS_TUNNEL = "havip:tunnel"

# The one tunnel device of a host with an underlay address (under domain.rules'
# RESERVED_DEVICE_PREFIX, so no interface can name it).
TUNNEL_DEVICE = "havip-tun"

# nftables tables the agent owns.
NFT_PREFIX = "havip_"
NFT_ANTISPOOF = "havip_antispoof"  # family netdev
NFT_GARP = "havip_garp"  # family arp
NFT_NAT = "havip_nat"  # family ip: EIP translation, marks and conntrack zones
NFT_TUNNEL = "havip_tunnel"  # family ip: what the tunnel may receive (underlay, VNI, inner source)

# The one gateway MAC every port of every VPC answers with.
GATEWAY_MAC = "ee:ff:ff:ff:ff:ff"

# Sink devices are named after their table so the name alone is unique and short.
SINK_NAME_PREFIX = "havip-s"


def is_our_alias(alias: str | None) -> bool:
    return bool(alias) and str(alias).startswith(ALIAS_PREFIX)


def is_our_rule(priority: int | None, protocol: int | None) -> bool:
    return priority in RULE_PREFS and protocol == RTPROT_HAVIP


def is_our_tunnel_rule(priority: int | None, protocol: int | None) -> bool:
    return priority in TUNNEL_RULE_PREFS and protocol == RTPROT_HAVIP


def is_our_nat_rule(priority: int | None, protocol: int | None) -> bool:
    return priority in NAT_RULE_PREFS and protocol == RTPROT_HAVIP


def is_our_table(table: int) -> bool:
    """A VPC's table."""
    return TABLE_MIN <= table <= TABLE_MAX


def is_our_route_table(table: int) -> bool:
    """A table whose routes the agent reads back and may own: a VPC's, or the egress table."""
    return is_our_table(table) or table == EGRESS_TABLE


def inbound_mark(table: int) -> int:
    return MARK_INBOUND | table


def egress_mark(table: int) -> int:
    return MARK_EGRESS | table


def port_mark(table: int) -> int:
    return MARK_PORT | table


def tunnel_mark(table: int) -> int:
    return MARK_TUNNEL | table


def is_our_nft_table(name: str) -> bool:
    return name.startswith(NFT_PREFIX)


def sink_name(table: int) -> str:
    return f"{SINK_NAME_PREFIX}{table}"
