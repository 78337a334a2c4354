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

from collections.abc import Collection, Mapping
from dataclasses import replace

from havip.agent import marks
from havip.agent.desired import DesiredHost, Port
from havip.agent.observed import Link

ADOPTABLE_KINDS = frozenset({"veth", "tap"})


def refusal(port: Port, link: Link, uplink: str | None, own: Collection[str]) -> str | None:
    """Why ``link`` may not become ``port`` (a reason, the metric label), or None."""
    if port.device == uplink:
        return "uplink"
    if port.device in own or (link.alias or "").startswith(marks.ALIAS_SINK):
        return "agent-device"
    if link.kind not in ADOPTABLE_KINDS:
        return "not-veth-or-tap"
    if link.has_ipv4:
        return "has-ipv4"
    return None


def admit(desired: DesiredHost, links: Mapping[str, Link]) -> tuple[DesiredHost, dict[str, str]]:
    """(``desired`` without the ports whose device may not be adopted, device -> reason).
    A port the agent creates itself and that does not exist yet is admitted."""
    uplink = desired.uplink.device if desired.uplink else None
    own = {v.sink for v in desired.vpcs}
    refused: dict[str, str] = {}
    for p in desired.ports:
        link = links.get(p.device)
        why = "uplink" if p.device == uplink else None
        if link is not None:
            why = refusal(p, link, uplink, own)
        elif p.device in own:
            why = "agent-device"
        if why is not None:
            refused[p.device] = why
    if not refused:
        return desired, refused
    return replace(desired, ports=tuple(p for p in desired.ports if p.device not in refused)), refused
