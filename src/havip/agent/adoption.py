"""Which existing devices the agent may adopt as ports, and why it refuses the others.

A port is a device the control plane names (the ENI's ``device``, set by a tenant);
adopting it gives it the gateway MAC, proxy ARP, iif rules and the antispoof chain. A
tenant must never steer that onto the host's own devices, so only a ``veth`` or ``tap``
that carries no IPv4 address, is not the configured uplink and is not one of the
agent's own devices (the VPC sinks) is adopted; any other is left exactly as it is.
``admit`` drops refused ports from the desired host before anything is planned or
rendered; the runtime logs each refusal once and counts it. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import replace

from havip.agent import marks
from havip.agent.desired import DesiredHost, Port
from havip.agent.observed import Link

ADOPTABLE_KINDS = frozenset({"veth", "tap"})


class Refusal(enum.StrEnum):
    """Why a device may not become a port (the ``havip_agent_ports_refused`` label)."""

    UPLINK = "uplink"  # the host's way to the internet
    AGENT_DEVICE = "agent-device"  # one of the agent's own devices (a VPC sink)
    NOT_VETH_OR_TAP = "not-veth-or-tap"
    HAS_IPV4 = "has-ipv4"  # the host uses it


def refusal(port: Port, link: Link, uplink: str | None, own: Collection[str]) -> Refusal | None:
    """Why ``link`` may not become ``port`` (a reason, the metric label), or None."""
    if port.device == uplink:
        return Refusal.UPLINK
    if port.device in own or (link.alias or "").startswith(marks.ALIAS_SINK):
        return Refusal.AGENT_DEVICE
    if link.kind not in ADOPTABLE_KINDS:
        return Refusal.NOT_VETH_OR_TAP
    if link.has_ipv4:
        return Refusal.HAS_IPV4
    return None


def admit(desired: DesiredHost, links: Mapping[str, Link]) -> tuple[DesiredHost, dict[str, Refusal]]:
    """(``desired`` without the ports whose device may not be adopted, device -> reason).
    A port the agent creates itself and that does not exist yet is admitted."""
    uplink = desired.uplink.device if desired.uplink else None
    own = {v.sink for v in desired.vpcs}
    refused: dict[str, Refusal] = {}
    for p in desired.ports:
        link = links.get(p.device)
        why = Refusal.UPLINK if p.device == uplink else None
        if link is not None:
            why = refusal(p, link, uplink, own)
        elif p.device in own:
            why = Refusal.AGENT_DEVICE
        if why is not None:
            refused[p.device] = why
    if not refused:
        return desired, refused
    return replace(desired, ports=tuple(p for p in desired.ports if p.device not in refused)), refused
