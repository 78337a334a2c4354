"""The real kernel bundle: ``kernel_for(dataplane)`` opens the agent's sockets in its namespace."""

from __future__ import annotations

from havip.agent import marks
from havip.agent.arp import watch_filter
from havip.agent.dataplane.conntrack import Conntrack
from havip.agent.dataplane.kernel import Dataplane
from havip.agent.dataplane.nflog import NflogReader
from havip.agent.dataplane.peerlink import PeerLink
from havip.agent.dataplane.switch import RouteSwitch
from havip.agent.dataplane.watcher import ArpWatcher
from havip.agent.kernel import Kernel


def kernel_for(dp: Dataplane, nflog_group: int | None, peer_port: int | None = None) -> Kernel:
    """The packet socket (claims and probe answers), the route switch, NFLOG (``None``:
    refused claims are not read), conntrack and, with ``peer_port``, the claim messages'
    UDP socket, all in ``dp``'s namespace."""
    opened: list[object] = []
    try:
        arp = ArpWatcher(dp.ns, watch_filter(marks.GATEWAY_MAC))
        opened.append(arp)
        switch = RouteSwitch(dp.ns)
        opened.append(switch)
        nflog = NflogReader(dp.ns, nflog_group) if nflog_group is not None else None
        opened.append(nflog)
        flows = Conntrack(dp.ns)
        opened.append(flows)
        peers = PeerLink(dp.ns, peer_port) if peer_port is not None else None
    except BaseException:
        for sock in opened:
            close = getattr(sock, "close", None)
            if close is not None:
                close()
        raise
    return Kernel(state=dp, arp=arp, switch=switch, nflog=nflog, flows=flows, peers=peers)
