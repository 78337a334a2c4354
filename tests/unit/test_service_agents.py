"""What a host's agent reads (desired state) and reports (claims), over the in-memory store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from havip.domain.claims import Outcome, ReportKind
from havip.domain.desired import DesiredPeer
from havip.domain.errors import Forbidden, HavipError, InvalidParameter, NotFound
from havip.domain.model import BindingMode, EventKind, HaVipEvent, Host, MemberType, NetworkInterface
from havip.service import agents, compute, havips, network
from havip.service.agents import ClaimReport
from havip.service.context import Ctx, Page
from havip.service.fakes import FakeRepository

from .builders import Cloud

pytestmark = pytest.mark.unit


class Pair:
    """The product page's set-up: two instances (on two hosts) sharing one HaVip, and a bystander.

    ``a`` (host h1) and ``b`` (host h2) are members; ``c`` on h1 is in the subnet but not a member.
    """

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.h1, self.agent1 = cloud.host("h1")
        self.h2, self.agent2 = cloud.host("h2")
        subnet = cloud.network()
        self.subnet_id = subnet.id
        self.havip_id = cloud.havip(subnet, ip="172.17.16.3").havip.id
        (self.inst_a, self.a), (self.inst_b, self.b) = cloud.instance(subnet, self.h1), cloud.instance(subnet, self.h2)
        _, self.c = cloud.instance(subnet, self.h1)
        for inst in (self.inst_a, self.inst_b):
            havips.associate(cloud.tenant, self.havip_id, MemberType.INSTANCE, inst.id)

    def report(
        self,
        eni: NetworkInterface,
        at: dt.datetime | None = None,
        kind: ReportKind = ReportKind.CLAIM,
        latency_us: int | None = None,
        agent: Ctx | None = None,
        host: Host | None = None,
    ) -> Outcome:
        on = host or (self.h1 if eni.host_id == self.h1.id else self.h2)
        ctx = agent or (self.agent1 if on is self.h1 else self.agent2)
        rep = ClaimReport(self.havip_id, eni.id, kind, at or self.cloud.clock(), "garp-request", latency_us)
        return agents.report(ctx, on.name, rep)

    def holder(self) -> str | None:
        return havips.get_havip(self.cloud.tenant, self.havip_id).havip.holder_interface_id

    def events(self, kind: EventKind | None = None) -> list[HaVipEvent]:
        items, _ = havips.list_events(self.cloud.tenant, self.havip_id, Page(limit=100), kind=kind)
        return list(reversed(items))


@pytest.fixture
def pair(cloud: Cloud) -> Pair:
    return Pair(cloud)


# ---------------------------------------------------------------- reports


def test_first_claim_makes_a_holder(pair: Pair) -> None:
    at = pair.cloud.clock()
    revision = pair.cloud.store.revision
    assert pair.report(pair.a, at, latency_us=850) is Outcome.HOLDER_CHANGED
    h = havips.get_havip(pair.cloud.tenant, pair.havip_id).havip
    assert (h.holder_interface_id, h.holder_instance_id, h.holder_host_id, h.holder_since) == (
        pair.a.id,
        pair.inst_a.id,
        pair.h1.id,
        at,
    )
    assert pair.cloud.store.revision == revision + 1
    (event,) = pair.events(EventKind.HOLDER_CHANGED)
    assert (event.previous_interface_id, event.interface_id, event.instance_id) == (None, pair.a.id, pair.inst_a.id)
    assert (event.host_id, event.at, event.latency_us, event.cause) == (pair.h1.id, at, 850, "garp-request")


def test_failover_records_previous_and_new_holder(pair: Pair) -> None:
    pair.report(pair.a)
    assert pair.report(pair.b, latency_us=1200) is Outcome.HOLDER_CHANGED
    assert pair.holder() == pair.b.id
    last = pair.events(EventKind.HOLDER_CHANGED)[-1]
    assert (last.previous_interface_id, last.previous_instance_id) == (pair.a.id, pair.inst_a.id)
    assert (last.interface_id, last.host_id, last.latency_us) == (pair.b.id, pair.h2.id, 1200)


def test_same_holder_again_is_a_no_op(pair: Pair) -> None:
    pair.report(pair.a)
    events, revision = len(pair.events()), pair.cloud.store.revision
    assert pair.report(pair.a) is Outcome.UNCHANGED
    assert (len(pair.events()), pair.cloud.store.revision, pair.holder()) == (events, revision, pair.a.id)


def test_non_member_claim_is_refused_and_recorded(pair: Pair) -> None:
    pair.report(pair.a)
    revision = pair.cloud.store.revision
    assert pair.report(pair.c) is Outcome.REFUSED
    assert pair.holder() == pair.a.id
    (event,) = pair.events(EventKind.CLAIM_REFUSED)
    assert (event.interface_id, event.reason, event.host_id) == (pair.c.id, "not-a-member", pair.h1.id)
    assert pair.cloud.store.revision == revision


def test_subnet_mode_lets_any_interface_of_the_subnet_claim(pair: Pair) -> None:
    havips.update_havip(pair.cloud.tenant, pair.havip_id, binding_mode=BindingMode.SUBNET)
    assert pair.report(pair.c) is Outcome.HOLDER_CHANGED
    assert pair.holder() == pair.c.id


def test_refusal_reported_by_the_data_plane_is_recorded(pair: Pair) -> None:
    assert pair.report(pair.a, kind=ReportKind.REFUSED) is Outcome.REFUSED
    assert pair.holder() is None
    (event,) = pair.events(EventKind.CLAIM_REFUSED)
    assert event.reason == "refused by the data plane"


def test_stale_report_is_ignored(pair: Pair) -> None:
    early = pair.cloud.clock()
    pair.report(pair.a)  # later than ``early``
    events = len(pair.events())
    assert pair.report(pair.b, at=early) is Outcome.STALE
    assert (pair.holder(), len(pair.events())) == (pair.a.id, events)


def test_naive_timestamps_are_taken_as_utc(pair: Pair) -> None:
    pair.report(pair.a)
    naive_past = (pair.cloud.clock() - dt.timedelta(hours=1)).replace(tzinfo=None)
    assert pair.report(pair.b, at=naive_past) is Outcome.STALE


def test_probe_answer_makes_a_holder_only_when_there_is_none(pair: Pair) -> None:
    assert pair.report(pair.a, kind=ReportKind.PROBE_ANSWER) is Outcome.HOLDER_CHANGED
    assert pair.report(pair.b, kind=ReportKind.PROBE_ANSWER) is Outcome.STALE
    assert pair.holder() == pair.a.id


def test_split_brain_is_recorded_without_changing_the_holder(pair: Pair) -> None:
    pair.report(pair.a)
    rep = ClaimReport(pair.havip_id, pair.a.id, ReportKind.SPLIT_BRAIN, pair.cloud.clock(), others=[pair.b.id])
    assert agents.report(pair.agent1, "h1", rep) is Outcome.RECORDED
    (event,) = pair.events(EventKind.SPLIT_BRAIN)
    assert event.detail == {"others": pair.b.id}
    assert pair.holder() == pair.a.id


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        pytest.param(
            lambda p: p.report(p.a, agent=p.agent2, host=p.h1),
            Forbidden,
            "Forbidden.NotThisHostsAgent",
            id="agent-of-another-host",
        ),
        pytest.param(
            lambda p: p.report(p.a, agent=p.agent2, host=p.h2),
            Forbidden,
            "Forbidden.InterfaceNotOnHost",
            id="interface-on-another-host",
        ),
        pytest.param(
            lambda p: p.report(p.a, agent=p.cloud.tenant, host=p.h1),
            Forbidden,
            "Forbidden.NotThisHostsAgent",
            id="tenant",
        ),
        pytest.param(
            lambda p: agents.report(
                p.agent1, "h1", ClaimReport("havip-nothere", p.a.id, ReportKind.CLAIM, p.cloud.clock())
            ),
            NotFound,
            "NotFound.HaVip",
            id="unknown-havip",
        ),
        pytest.param(
            lambda p: agents.report(
                p.agent1, "h-nothere", ClaimReport(p.havip_id, p.a.id, ReportKind.CLAIM, p.cloud.clock())
            ),
            NotFound,
            "NotFound.Host",
            id="unknown-host",
        ),
        pytest.param(
            lambda p: p.report(p.a, latency_us=-1),
            InvalidParameter,
            "InvalidParameter",
            id="negative-latency",
        ),
    ],
)
def test_report_refused(pair: Pair, call: Callable[[Pair], object], error: type[HavipError], code: str) -> None:
    events = len(pair.events())
    with pytest.raises(error) as info:
        call(pair)
    assert info.value.code == code
    assert (pair.holder(), len(pair.events())) == (None, events)


# ---------------------------------------------------------------- desired state


def test_desired_state_lists_only_the_hosts_interfaces_and_their_claims(pair: Pair) -> None:
    cloud = pair.cloud
    subnet = network.get_subnet(cloud.tenant, pair.subnet_id)
    unplaced = cloud.eni(subnet)
    open_vip = cloud.havip(subnet, mode=BindingMode.SUBNET).havip.id
    pair.report(pair.b)

    state = agents.desired_state(pair.agent1, "h1")
    assert state.host == "h1"
    assert state.revision == cloud.store.revision
    assert sorted(e.id for e in state.interfaces) == sorted([pair.a.id, pair.c.id])
    assert unplaced.id not in {e.id for e in state.interfaces}
    by_id = {h.id: h for h in state.havips}
    assert by_id[pair.havip_id].claimants == [pair.a.id]  # c is no member; b is on h2
    assert by_id[open_vip].claimants == sorted([pair.a.id, pair.c.id])
    assert (by_id[pair.havip_id].holder_interface_id, by_id[pair.havip_id].holder_host) == (pair.b.id, "h2")
    assert [s.gateway for s in state.subnets] == ["172.17.16.1"]

    other = agents.desired_state(pair.agent2, pair.h2.id)  # by id as well as by name
    assert [e.id for e in other.interfaces] == [pair.b.id]
    assert {h.id: h.claimants for h in other.havips}[pair.havip_id] == [pair.b.id]


def test_desired_state_of_an_empty_host(cloud: Cloud) -> None:
    _, agent = cloud.host("idle")
    state = agents.desired_state(agent, "idle")
    assert (state.interfaces, state.havips, state.vpcs, state.subnets) == ([], [], {}, [])


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("agent2", id="agent-of-another-host"),
        pytest.param("tenant", id="tenant"),
    ],
)
def test_desired_state_is_for_the_hosts_agent_only(pair: Pair, who: str) -> None:
    ctx = pair.agent2 if who == "agent2" else pair.cloud.tenant
    with pytest.raises(Forbidden) as info:
        agents.desired_state(ctx, "h1")
    assert info.value.code == "Forbidden.NotThisHostsAgent"


def test_operator_may_read_any_hosts_desired_state(pair: Pair) -> None:
    assert agents.desired_state(pair.cloud.operator, "h1").host == "h1"


def test_revision_moves_with_changes_that_agents_need(pair: Pair) -> None:
    host_id, before = agents.current_revision(pair.agent1, "h1")
    havips.update_havip(pair.cloud.tenant, pair.havip_id, name="web")
    assert agents.current_revision(pair.agent1, "h1") == (host_id, before + 1)
    assert agents.desired_state(pair.agent1, "h1").revision == before + 1


def test_concurrent_claims_leave_exactly_one_holder(pair: Pair) -> None:
    claims = [(eni, pair.cloud.clock()) for eni in (pair.a, pair.b) * 4]  # distinct times, raced in any order
    outcomes: list[Outcome] = []
    done = threading.Lock()

    def claim(eni: NetworkInterface, at: dt.datetime) -> None:
        outcome = pair.report(eni, at=at)
        with done:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=c) for c in reversed(claims)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = pair.events(EventKind.HOLDER_CHANGED)
    assert outcomes.count(Outcome.HOLDER_CHANGED) == len(changes) >= 1
    assert set(outcomes) <= {Outcome.HOLDER_CHANGED, Outcome.UNCHANGED, Outcome.STALE}
    assert changes[-1].interface_id == pair.holder()
    assert pair.holder() in (pair.a.id, pair.b.id)
    for before, after in itertools.pairwise(changes):  # one chain: each change starts from the last holder
        assert after.previous_interface_id == before.interface_id


# ---------------------------------------------------------------- several hosts


def test_a_host_with_an_underlay_sees_its_peers_and_their_interfaces(pair: Pair) -> None:
    cloud = pair.cloud
    for host, address in ((pair.h1, "192.0.2.11"), (pair.h2, "192.0.2.12")):
        compute.update_host(cloud.operator, host.name, underlay=address)
    vpc = network.get_vpc(cloud.tenant, network.get_subnet(cloud.tenant, pair.subnet_id).vpc_id)

    one = agents.desired_state(pair.agent1, "h1")
    assert (one.underlay, one.vnis) == ("192.0.2.11", {vpc.id: vpc.vni})
    assert one.peers == [DesiredPeer(host="h2", underlay="192.0.2.12")]
    [remote] = one.remote_interfaces
    assert (remote.id, remote.host, remote.instance_id, remote.addresses) == (
        pair.b.id,
        "h2",
        pair.inst_b.id,
        pair.b.addresses,
    )
    assert remote.claimable == [pair.havip_id]

    two = agents.desired_state(pair.agent2, "h2")
    assert {r.id: r.claimable for r in two.remote_interfaces} == {pair.a.id: [pair.havip_id], pair.c.id: []}


def test_a_host_without_an_underlay_is_neither_a_peer_nor_given_peers(pair: Pair) -> None:
    before = agents.desired_state(pair.agent2, "h2")
    compute.update_host(pair.cloud.operator, "h1", underlay="192.0.2.11")
    one = agents.desired_state(pair.agent1, "h1")
    assert (one.peers, one.remote_interfaces) == ([], [])
    two = agents.desired_state(pair.agent2, "h2")
    assert (two.underlay, two.vnis, two.peers, two.remote_interfaces) == (None, {}, [], [])
    assert dataclasses.replace(two, revision=before.revision) == before


def test_the_desired_state_costs_the_same_queries_with_many_remote_interfaces(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No query per interface or per HaVip: the reads of h1's state do not grow with h2's interfaces."""
    h1, agent1 = cloud.host("h1")
    h2, _ = cloud.host("h2", underlay="192.0.2.12")
    compute.update_host(cloud.operator, "h1", underlay="192.0.2.11")
    cloud.set_quota("havips_per_account", 50)
    cloud.set_quota("havips_per_vpc", 50)
    subnet = cloud.network()
    cloud.instance(subnet, h1)
    calls: list[str] = []
    find, get = FakeRepository.find, FakeRepository.get

    def counted_find(self: FakeRepository[Any], **kw: Any) -> Any:
        calls.append("find")
        return find(self, **kw)

    def counted_get(self: FakeRepository[Any], ident: str) -> Any:
        calls.append("get")
        return get(self, ident)

    def reads(n: int) -> int:
        for _ in range(n):
            _, eni = cloud.instance(subnet, h2)
            h = cloud.havip(subnet).havip.id
            havips.associate(cloud.tenant, h, MemberType.NETWORK_INTERFACE, eni.id)
        calls.clear()
        with monkeypatch.context() as m:
            m.setattr(FakeRepository, "find", counted_find)
            m.setattr(FakeRepository, "get", counted_get)
            state = agents.desired_state(agent1, "h1")
        assert len(state.remote_interfaces) == len({e.id for e in state.remote_interfaces})
        return len(calls)

    few = reads(2)
    assert reads(20) == few
