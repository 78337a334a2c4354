"""The agent's kernel port: the small Protocols it needs from the host's kernel, and their values.

The agent never opens a socket itself: it receives one ``Kernel`` bundle, built by
``havip agent`` from the real adapters in ``havip.agent.dataplane`` (``kernel_for``), or
by unit tests from ``havip.agent.fakekernel``. Five parts, one per kernel object the
agent uses:

- ``StatePort``: read the host's state back (``Observed``), apply planned actions, read
  the drop counters;
- ``ArpPort``: the packet socket that hears gratuitous ARPs and probe answers, and sends
  probes;
- ``SwitchPort``: the claim path's route switch (neighbour, VIP route, route entries in
  one batch);
- ``NflogPort``: the refused claims nftables logs;
- ``FlowPort``: conntrack, to end the flows of a VIP that moved;
- ``PeerPort`` (several hosts): the UDP socket that carries claim messages between agents.

The values that cross the port (``Frame``, ``Move``, ``Logged``, ``Flow``, ``Kick``) and
the one error the adapters raise (``DataplaneError``) are defined here, free of pyroute2,
so that deciding modules and tests import them without the kernel adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from havip.agent import actions as a
from havip.agent.flows import Flow, Kick
from havip.agent.observed import Encap as Encap
from havip.agent.observed import Observed


class DataplaneError(Exception):
    """A kernel operation failed (the message names the object and the kernel's error)."""


@dataclass(frozen=True)
class Frame:
    """An ARP frame the watcher heard."""

    data: bytes
    ifname: str
    ifindex: int
    pkttype: int
    rx_ns: int  # kernel receive time, ns since the epoch


@dataclass(frozen=True)
class Move:
    """One VIP to point at a port (its neighbour, its /32 and its route entries), or, with
    ``encap``, into the tunnel device ``ifindex`` towards another host (no neighbour: the
    tunnel carries IP, and the route entries go the same way)."""

    table: int
    vip: str
    ifindex: int
    mac: str
    routes: Sequence[str] = ()
    encap: Encap | None = None


@dataclass(frozen=True)
class Logged:
    """A packet nftables logged (a refused claim)."""

    ifindex: int
    payload: bytes  # from the network header on: the ARP header for netdev/arp
    at_ns: int  # kernel timestamp, ns since the epoch (0 when the kernel gave none)


Failures = list[tuple[a.Action, DataplaneError]]


class StatePort(Protocol):
    def read(self) -> Observed:
        """A full snapshot of what the planner looks at (raises ``DataplaneError``)."""
        ...

    def apply(self, acts: Iterable[a.Action]) -> Failures:
        """Execute actions in order; (action, error) for each that failed (the rest ran)."""
        ...

    def nft_counters(self) -> dict[str, int]:
        """Packets per named counter of the agent's nftables tables ("table.counter")."""
        ...


class Selectable(Protocol):
    def fileno(self) -> int: ...
    def close(self) -> None: ...


class ArpPort(Selectable, Protocol):
    def receive(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or None when none is queued within ``timeout``."""
        ...

    def send(self, ifname: str, frame: bytes) -> None: ...

    def forget(self) -> None:
        """Devices may have been recreated under their names: resolve names afresh."""
        ...


class SwitchPort(Protocol):
    def switch_many(self, moves: Sequence[Move]) -> list[int | DataplaneError]:
        """For each move, in order: the wall-clock ns of its last ack, or its error."""
        ...

    def close(self) -> None: ...


class NflogPort(Selectable, Protocol):
    def receive(self, timeout: float | None = None) -> list[Logged]: ...


class PeerPort(Selectable, Protocol):
    """The UDP socket on the host's underlay that carries claim messages between agents."""

    def receive(self) -> list[tuple[bytes, str, int]]:
        """Every datagram queued now: (data, the sender's address, its kernel receive time
        in ns since the epoch, 0: unknown); never blocks."""
        ...

    def send(self, address: str, data: bytes) -> None:
        """One datagram to a peer's agent (``address`` its underlay; raises OSError)."""
        ...


class FlowPort(Protocol):
    def flows(self, zone: int | None = None) -> list[Flow]: ...
    def delete(self, flow: Flow) -> bool: ...
    def kick(self, k: Kick) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Kernel:
    """Everything the agent touches in the kernel of its host."""

    state: StatePort
    arp: ArpPort
    switch: SwitchPort
    nflog: NflogPort | None
    flows: FlowPort
    peers: PeerPort | None = None  # None: claims reach other hosts through the control plane only

    def close(self) -> None:
        """Close the sockets (the state port belongs to whoever built it)."""
        if self.peers is not None:
            self.peers.close()
        self.flows.close()
        self.arp.close()
        self.switch.close()
        if self.nflog is not None:
            self.nflog.close()
