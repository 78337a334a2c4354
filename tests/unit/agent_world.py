"""One small host for the agent's unit tests over the fake kernel and control plane.

Host ``h1`` has VPC ``vpc-1`` (10.0.0.0/24, gateway 10.0.0.1) and three instances on
taps ``tap1``..``tap3``; HaVip ``havip-1`` (10.0.0.3) may be claimed by ``eni-1`` and
``eni-2`` (``eni-3`` is no member). ``world()`` starts an ``Agent`` over a ``FakeKernel``
and a ``FakeControlPlane`` with short timers, and stops it after the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from havip.agent.control import FakeControlPlane
from havip.agent.fakekernel import FakeKernel
from havip.agent.runtime import Agent
from havip.agent.settings import AgentSettings, DiscoverySettings, FollowSettings, LoopPolicy, LoopSettings
from havip.contract import agents as wire
from havip.domain.desired import DesiredState

HOST = "h1"
VIP = "10.0.0.3"
GATEWAY = "10.0.0.1"
MACS = {n: f"52:54:00:00:00:0{n}" for n in (1, 2, 3)}
FAST = AgentSettings(
    follow=FollowSettings(long_poll_wait=0.2, resync_interval=3600, backoff=(0.01,), request_timeout=1),
    discovery=DiscoverySettings(interval=3600, answer_window=0.05, claim_shield=0.0),
    loops=LoopSettings(
        claims=LoopPolicy((0.01,), give_up_after=50),
        reporter=LoopPolicy((0.01,)),
        follow=LoopPolicy((0.01,)),
        flows=LoopPolicy((0.01,)),
    ),
)


def desired(
    revision: int = 1, holder: str | None = "eni-1", holder_host: str | None = HOST, **extra: Any
) -> DesiredState:
    """The host's desired state at ``revision`` with ``havip-1`` held by ``holder``."""
    body: dict[str, Any] = {
        "revision": revision,
        "host": HOST,
        "vpcs": {"vpc-1": "10.0.0.0/24"},
        "subnets": [{"id": "vsw-1", "vpc_id": "vpc-1", "cidr": "10.0.0.0/24", "gateway": GATEWAY}],
        "interfaces": [
            {
                "id": f"eni-{n}",
                "vpc_id": "vpc-1",
                "subnet_id": "vsw-1",
                "instance_id": f"i-{n}",
                "mac": MACS[n],
                "device": f"tap{n}",
                "addresses": [f"10.0.0.1{n}"],
            }
            for n in (1, 2, 3)
        ],
        "havips": [
            {
                "id": "havip-1",
                "vpc_id": "vpc-1",
                "subnet_id": "vsw-1",
                "ip": VIP,
                "binding_mode": "static",
                "claimants": ["eni-1", "eni-2"],
                "holder_interface_id": holder,
                "holder_host": holder_host if holder else None,
                "eips": [],
            }
        ],
        "routes": [],
        "eips": [],
        **extra,
    }
    return wire.DesiredState.model_validate(body).to_domain()


def wait_for(what: str, pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


@dataclass
class World:
    agent: Agent
    kernel: FakeKernel
    control: FakeControlPlane

    def route(self, dst: str = f"{VIP}/32") -> str | None:
        """The device the fake kernel routes ``dst`` to in the VPC's table."""
        for (_table, d), r in self.kernel.state.routes.items():
            if d == dst:
                return r.device
        return None

    def garp(self, n: int, ip: str = VIP) -> None:
        self.kernel.arp.garp(f"tap{n}", ip, MACS[n])

    def claim_reports(self) -> list[tuple[str, str]]:
        return [(r.interface_id, r.cause) for r in self.control.reports if r.kind == "claim"]


@contextmanager
def world(
    state: DesiredState | None = None, settings: AgentSettings = FAST, start: bool = True, **tweak: Any
) -> Iterator[World]:
    kernel = FakeKernel()
    for n in (1, 2, 3):
        kernel.state.add_device(f"tap{n}", mac=f"fe:00:00:00:00:0{n}", kind="tap")
    control = FakeControlPlane(state or desired())
    agent = Agent(control, HOST, kernel, replace(settings, **tweak) if tweak else settings)
    w = World(agent, kernel, control)
    if start:
        agent.start()
        wait_for("the first reconcile", lambda: agent.reconciled_revision is not None)
    try:
        yield w
    finally:
        agent.request_stop()
        agent.stop()
