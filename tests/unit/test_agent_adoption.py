"""Which devices the agent adopts as ports: a veth or tap without IPv4 that is not the
uplink nor one of its own; every other device named by a tenant is left untouched."""

from __future__ import annotations

import pytest

from havip.agent import actions as a
from havip.agent import marks
from havip.agent.adoption import admit
from havip.agent.desired import Uplink, build_desired
from havip.agent.observed import Link, Observed
from havip.agent.pipeline import reconcile_pass
from havip.domain.desired import DesiredState

from .agent_fixtures import Iface, State

UPLINK = Uplink("eth0", "192.0.2.1")
SINK = marks.sink_name(marks.TABLE_MIN)


def one_port(device: str) -> DesiredState:
    return State(interfaces=[Iface("eni-1", "vpc-1", "52:54:00:00:00:01", device, ["10.0.0.11"])])


@pytest.mark.parametrize(
    ("link", "refused"),
    [
        (Link(name="p1", index=2, kind="veth"), None),
        (Link(name="p1", index=2, kind="tap"), None),
        (Link(name="p1", index=2, kind="tun"), "not-veth-or-tap"),
        (Link(name="p1", index=2, kind=None), "not-veth-or-tap"),
        (Link(name="p1", index=2, kind="bridge"), "not-veth-or-tap"),
        (Link(name="p1", index=2, kind="veth", has_ipv4=True), "has-ipv4"),
        (Link(name="eth0", index=2, kind="veth"), "uplink"),
        (Link(name=SINK, index=2, kind="veth"), "agent-device"),
        (Link(name="p1", index=2, alias=marks.ALIAS_SINK + "vpc-9", kind="veth"), "agent-device"),
    ],
    ids=["veth", "tap", "tun", "physical", "bridge", "veth-with-ipv4", "the-uplink", "a-sink-name", "a-sink-alias"],
)
def test_which_devices_may_become_ports(link: Link, refused: str | None) -> None:
    desired = build_desired(one_port(link.name), uplink=UPLINK)
    admitted, why = admit(desired, {link.name: link})
    assert why == ({} if refused is None else {link.name: refused})
    assert [p.device for p in admitted.ports] == ([] if refused else [link.name])


def test_a_refused_device_is_left_untouched() -> None:
    eth0 = Link(name="eth0", index=2, alias=None, mac="02:00:00:00:00:99", up=True, kind=None, has_ipv4=True)
    acts = reconcile_pass(one_port("eth0"), Observed(complete=True, links={"eth0": eth0}), uplink=UPLINK).actions
    touching = [act for act in acts if "eth0" in repr(act) and not isinstance(act, a.ConfigureUplink | a.ApplyNftTable)]
    assert touching == []
    assert not any(isinstance(act, a.ConfigurePort) for act in acts)
    nft = "".join(act.text for act in acts if isinstance(act, a.ApplyNftTable))
    assert '"eth0"' not in nft


def test_a_veth_the_agent_creates_is_admitted_before_it_exists() -> None:
    desired = build_desired(State(interfaces=[Iface("eni-1", "vpc-1", "52:54:00:00:00:01", None, ["10.0.0.11"])]))
    assert [p.create_peer is not None for p in desired.ports] == [True]
    assert admit(desired, {}) == (desired, {})
