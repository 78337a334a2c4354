"""An in-memory kernel behind the agent's port (``havip.agent.kernel``), for unit tests.

``FakeKernel()`` is a ``Kernel`` whose parts keep their state in memory and behave as the
real adapters do where the agent can tell: actions are idempotent and change what
``read`` returns (a plan applied plans nothing more), a route switch moves the VIP's
neighbour, route and route entries, the ARP and NFLOG ports are selectable (a pipe says
when a frame is queued), conntrack deletes and kicks flows. Each part can be told to
fail (``fail_next`` / ``failing``) with the error a kernel would give, or with any
exception, to test how the agent's loops survive. Not thread-safe beyond what the agent
needs: one claim thread, one reconcile thread, one flow thread, each on its own part.
Ships next to the real adapters as ``havip.service.fakes`` does for the store.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from havip.agent import actions as a
from havip.agent import arp, marks
from havip.agent.flows import Flow, Kick
from havip.agent.kernel import DataplaneError, Failures, Frame, Kernel, Logged, Move
from havip.agent.observed import Link, Neigh, Observed, Route, Rule

PACKET_BROADCAST = 1


@dataclass
class Faults:
    """Make the next ``fail_next`` calls fail, or every call while ``failing`` is set."""

    fail_next: int = 0
    failing: BaseException | None = None
    error: BaseException = field(default_factory=lambda: DataplaneError("injected kernel failure"))

    def check(self) -> None:
        if self.failing is not None:
            raise self.failing
        if self.fail_next > 0:
            self.fail_next -= 1
            raise self.error


class FakeState:
    """Links, routes, neighbours, rules and nftables tables of one fake host."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.links: dict[str, Link] = {}
        self.routes: dict[tuple[int, str], Route] = {}
        self.neighs: dict[tuple[str, str], Neigh] = {}
        self.rules: set[Rule] = set()
        self.nft: dict[tuple[str, str], str] = {}
        self.host_ready = False
        self.fwmark_reflect = False
        self.counters: dict[str, int] = {}
        self.applied: list[a.Action] = []
        self.reads = 0
        self.read_faults = Faults()
        self.apply_faults = Faults()
        self._index = itertools.count(2)

    # ------------------------------------------------------------ test set-up

    def add_device(self, name: str, mac: str = "02:00:00:00:00:01", kind: str | None = "veth") -> Link:
        """A device someone else created (a tap or veth of an instance)."""
        with self.lock:
            link = Link(name=name, index=next(self._index), mac=mac, kind=kind)
            self.links[name] = link
            return link

    def index(self, name: str) -> int:
        return self.links[name].index

    # ------------------------------------------------------------------ port

    def read(self) -> Observed:
        with self.lock:
            self.read_faults.check()
            self.reads += 1
            return Observed(
                complete=True,
                host_ready=self.host_ready,
                fwmark_reflect=self.fwmark_reflect,
                links=dict(self.links),
                routes=frozenset(self.routes.values()),
                neighs=frozenset(self.neighs.values()),
                rules=frozenset(self.rules),
                nft=dict(self.nft),
            )

    def apply(self, acts: Iterable[a.Action]) -> Failures:
        failures: Failures = []
        with self.lock:
            for act in acts:
                try:
                    self.apply_faults.check()
                    self._apply(act)
                    self.applied.append(act)
                except DataplaneError as e:
                    failures.append((act, e))
        return failures

    def nft_counters(self) -> dict[str, int]:
        return dict(self.counters)

    # -------------------------------------------------------------- actions

    def _device(self, name: str) -> Link:
        link = self.links.get(name)
        if link is None:
            raise DataplaneError(f"no device {name!r} in the fake host")
        return link

    def _apply(self, act: a.Action) -> None:
        if isinstance(act, a.SetHostSysctls):
            self.host_ready = True
        elif isinstance(act, a.CreateSink):
            if act.name not in self.links:
                self.links[act.name] = Link(name=act.name, index=next(self._index), kind="ifb")
            self.links[act.name] = replace(self.links[act.name], alias=marks.ALIAS_SINK + act.vpc_id, up=True)
        elif isinstance(act, a.CreateVeth):
            if act.name not in self.links:
                self.add_device(act.name)
        elif isinstance(act, a.ConfigurePort):
            link = self._device(act.device)
            self.links[act.device] = replace(link, alias=act.alias, mac=act.gateway_mac, up=True, port_sysctls_ok=True)
        elif isinstance(act, a.ReleasePort):
            self.links[act.device] = replace(self._device(act.device), alias=None)
        elif isinstance(act, a.DeleteLink):
            self._delete_link(act.name)
        elif isinstance(act, a.CreateTunnel):
            old = self.links.get(act.name)
            if old is None or old.kind != "vxlan" or old.tunnel_port != act.port:
                self._delete_link(act.name)
                self.links[act.name] = Link(name=act.name, index=next(self._index), kind="vxlan")
            self.links[act.name] = replace(
                self.links[act.name],
                alias=marks.ALIAS_TUNNEL,
                mtu=act.mtu,
                tunnel_port=act.port,
                up=True,
                uplink_sysctls_ok=True,
            )
            self.fwmark_reflect = True
        elif isinstance(act, a.ConfigureUplink):
            self.links[act.device] = replace(self._device(act.device), uplink_sysctls_ok=True)
        elif isinstance(act, a.AddRule):
            self.rules.add(self._rule(act))
        elif isinstance(act, a.DeleteRule):
            self.rules.discard(self._rule(act))
        elif isinstance(act, a.ReplaceRoute):
            self._device(act.device)
            self.routes[(act.table, act.dst)] = Route(
                table=act.table,
                dst=act.dst,
                device=act.device,
                proto=marks.RTPROT_HAVIP,
                gateway=act.gateway,
                encap=act.encap,
            )
        elif isinstance(act, a.DeleteRoute):
            self.routes.pop((act.table, act.dst), None)
        elif isinstance(act, a.ReplaceNeigh):
            self._device(act.device)
            self.neighs[(act.device, act.ip)] = Neigh(act.device, act.ip, act.mac, True)
        elif isinstance(act, a.DeleteNeigh):
            self.neighs.pop((act.device, act.ip), None)
        elif isinstance(act, a.ApplyNftTable):
            self.nft[(act.family, act.name)] = act.digest
        elif isinstance(act, a.DeleteNftTable):
            self.nft.pop((act.family, act.name), None)
        else:  # pragma: no cover - the Action union is closed
            raise DataplaneError(f"the fake kernel cannot apply {act!r}")

    def _delete_link(self, name: str) -> None:
        """As the kernel: the device's routes and neighbours go with it."""
        self.links.pop(name, None)
        self.routes = {k: r for k, r in self.routes.items() if r.device != name}
        self.neighs = {k: n for k, n in self.neighs.items() if n.device != name}

    @staticmethod
    def _rule(act: a.AddRule | a.DeleteRule) -> Rule:
        return Rule(
            priority=act.priority,
            iif=act.iif,
            table=act.table,
            proto=marks.RTPROT_HAVIP,
            fwmark=act.fwmark,
            fwmask=act.fwmask,
            suppress_prefixlength=act.suppress_prefixlength,
            tun_id=act.tun_id,
        )

    def move(self, m: Move) -> None:
        """What the route switch does: neighbour, VIP /32 and route entries via the VIP."""
        with self.lock:
            device = next((n for n, link in self.links.items() if link.index == m.ifindex), None)
            if device is None:
                raise DataplaneError(f"route switch of {m.vip}: No such device")
            if m.encap is not None:  # into the tunnel: the /32 and the route entries, no neighbour
                for dst in (f"{m.vip}/32", *m.routes):
                    self.routes[(m.table, dst)] = Route(
                        table=m.table, dst=dst, device=device, proto=marks.RTPROT_HAVIP, encap=m.encap
                    )
                return
            self.neighs[(device, m.vip)] = Neigh(device, m.vip, m.mac, True)
            self.routes[(m.table, f"{m.vip}/32")] = Route(
                table=m.table, dst=f"{m.vip}/32", device=device, proto=marks.RTPROT_HAVIP
            )
            for dst in m.routes:
                self.routes[(m.table, dst)] = Route(
                    table=m.table, dst=dst, device=device, proto=marks.RTPROT_HAVIP, gateway=m.vip
                )


class _Readable:
    """A queue whose ``fileno`` is readable while it holds something."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._lock = threading.Lock()
        self.closed = False

    def fileno(self) -> int:
        return self._r

    def _signal(self) -> None:
        os.write(self._w, b"x")

    def _drain_one(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._r, 1)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)


class FakeArp(_Readable):
    def __init__(self, state: FakeState) -> None:
        super().__init__()
        self.state = state
        self.frames: collections.deque[Frame] = collections.deque()
        self.sent: list[tuple[str, bytes]] = []
        self.forgotten = 0
        self.faults = Faults()

    def inject(self, frame: Frame) -> None:
        with self._lock:
            self.frames.append(frame)
        self._signal()

    def garp(self, device: str, ip: str, mac: str, *, op: int = arp.ARP_REQUEST, rx_ns: int | None = None) -> Frame:
        """Queue the gratuitous ARP an instance behind ``device`` sends for ``ip``."""
        frame = Frame(
            arp.build_garp(mac, ip, op), device, self.state.index(device), PACKET_BROADCAST, rx_ns or time.time_ns()
        )
        self.inject(frame)
        return frame

    def answer(self, device: str, ip: str, mac: str, gateway_ip: str, gateway_mac: str = marks.GATEWAY_MAC) -> Frame:
        """Queue an instance's answer to the agent's holder probe."""
        data = arp.build_arp(arp.ARP_REPLY, mac, ip, gateway_ip, target_mac=gateway_mac, eth_dst=gateway_mac)
        frame = Frame(data, device, self.state.index(device), 0, time.time_ns())
        self.inject(frame)
        return frame

    def receive(self, timeout: float | None = None) -> Frame | None:
        self.faults.check()
        with self._lock:
            if not self.frames:
                return None
            self._drain_one()
            return self.frames.popleft()

    def send(self, ifname: str, frame: bytes) -> None:
        self.state._device(ifname)
        self.sent.append((ifname, frame))

    def forget(self) -> None:
        self.forgotten += 1


class FakeNflog(_Readable):
    def __init__(self) -> None:
        super().__init__()
        self.logged: collections.deque[Logged] = collections.deque()

    def inject(self, ifindex: int, payload: bytes, at_ns: int | None = None) -> None:
        with self._lock:
            self.logged.append(Logged(ifindex, payload, at_ns or time.time_ns()))
        self._signal()

    def receive(self, timeout: float | None = None) -> list[Logged]:
        with self._lock:
            out = list(self.logged)
            self.logged.clear()
        for _ in out:
            self._drain_one()
        return out


class FakeSwitch:
    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.moves: list[Move] = []
        self.calls = 0
        self.faults = Faults()
        self.closed = False

    def switch_many(self, moves: Sequence[Move]) -> list[int | DataplaneError]:
        self.calls += 1
        out: list[int | DataplaneError] = []
        for m in moves:
            self.moves.append(m)
            try:
                self.faults.check()
                self.state.move(m)
                out.append(time.time_ns())
            except DataplaneError as e:
                out.append(e)
        return out

    def close(self) -> None:
        self.closed = True


class FakePeers(_Readable):
    """The claim messages' socket: ``deliver`` queues a datagram, ``sent`` keeps what went out."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: collections.deque[tuple[bytes, str]] = collections.deque()
        self.sent: list[tuple[str, bytes]] = []
        self.faults = Faults()

    def deliver(self, data: bytes, source: str) -> None:
        with self._lock:
            self.inbox.append((data, source))
        self._signal()

    def receive(self) -> list[tuple[bytes, str, int]]:
        with self._lock:
            out = list(self.inbox)
            self.inbox.clear()
        for _ in out:
            self._drain_one()
        return [(data, source, 0) for data, source in out]

    def send(self, address: str, data: bytes) -> None:
        self.faults.check()
        self.sent.append((address, data))


class FakeFlows:
    def __init__(self) -> None:
        self.table: list[Flow] = []
        self.kicked: list[Kick] = []
        self.faults = Faults()
        self.closed = False

    def flows(self, zone: int | None = None) -> list[Flow]:
        self.faults.check()
        return [f for f in self.table if zone is None or f.zone == zone]

    def delete(self, flow: Flow) -> bool:
        if flow in self.table:
            self.table.remove(flow)
            return True
        return False

    def kick(self, k: Kick) -> None:
        self.kicked.append(k)

    def close(self) -> None:
        self.closed = True


class FakeKernel(Kernel):
    """A ``Kernel`` of fakes; its parts are typed as the fakes, for tests to drive."""

    state: FakeState
    arp: FakeArp
    switch: FakeSwitch
    nflog: FakeNflog
    flows: FakeFlows
    peers: FakePeers

    def __init__(self, state: FakeState | None = None) -> None:
        """``state``: the kernel state of an agent that stopped (it outlives the process)."""
        state = state if state is not None else FakeState()
        super().__init__(
            state=state,
            arp=FakeArp(state),
            switch=FakeSwitch(state),
            nflog=FakeNflog(),
            flows=FakeFlows(),
            peers=FakePeers(),
        )
