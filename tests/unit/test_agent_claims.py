"""The claim path's pure decisions, the watch filter, local claims, drop totals."""

from __future__ import annotations

import pytest

from havip.agent import arp
from havip.agent import claims as c
from havip.agent.actions import Action, DeleteNeigh, ReplaceNeigh, ReplaceRoute
from havip.agent.metrics import DropTotals
from havip.agent.pipeline import split_vip_actions

pytestmark = pytest.mark.unit

GW = "ee:ff:ff:ff:ff:ff"
MAC = "52:54:00:00:00:01"
VIP = "10.0.0.3"


def view(holder: str | None = "eni-1", holder_host: str | None = "h1") -> c.ClaimView:
    ports = {
        n: c.PortInfo(
            interface_id=f"eni-{n}", device=f"p{n}", ifindex=n, vpc_id="vpc-1", table=20000, mac=f"52:54:00:00:00:0{n}"
        )
        for n in (1, 2, 3)  # eni-3 is no claimant
    }
    vip = c.VipInfo(
        havip_id="havip-1",
        vpc_id="vpc-1",
        ip=VIP,
        table=20000,
        claimants=frozenset({"eni-1", "eni-2"}),
        gateway_ip="10.0.0.1",
        holder_interface_id=holder,
        holder_host=holder_host,
    )
    return c.ClaimView("h1", 7, ports, {("vpc-1", VIP): vip})


@pytest.mark.parametrize(
    ("ifindex", "ip", "local", "act", "why"),
    [
        pytest.param(2, VIP, {}, c.Act.SWITCH, c.Why.CLAIM, id="member-claims"),
        pytest.param(1, VIP, {}, c.Act.NOOP, c.Why.ALREADY_HOLDER, id="holder-refresh"),
        pytest.param(2, VIP, {"havip-1": "eni-2"}, c.Act.NOOP, c.Why.ALREADY_HOLDER, id="local-claim-refresh"),
        pytest.param(1, VIP, {"havip-1": "eni-2"}, c.Act.SWITCH, c.Why.CLAIM, id="back-to-the-recorded"),
        pytest.param(3, VIP, {}, c.Act.IGNORE, c.Why.NOT_A_CLAIMANT, id="not-a-claimant"),
        pytest.param(2, "10.0.0.9", {}, c.Act.IGNORE, c.Why.NOT_A_HAVIP, id="not-a-havip"),
        pytest.param(9, VIP, {}, c.Act.IGNORE, c.Why.UNKNOWN_PORT, id="unknown-port"),
    ],
)
def test_decide_claim(ifindex: int, ip: str, local: dict[str, str], act: c.Act, why: c.Why) -> None:
    v = c.decide_claim(view(), local, ifindex, ip)
    assert (v.act, v.why) == (act, why)


def test_a_holder_on_another_host_is_not_ours_so_a_local_claim_switches() -> None:
    assert c.decide_claim(view("eni-1", "h2"), {}, 1, VIP).act is c.Act.SWITCH


VIPINFO = view().vips[("vpc-1", VIP)]


@pytest.mark.parametrize(
    ("holder", "answers", "shielded", "finding", "who"),
    [
        pytest.param("eni-1", [], False, c.Finding.NO_ANSWER, None, id="nobody"),
        pytest.param("eni-1", ["eni-1"], False, c.Finding.CONFIRMED, "eni-1", id="holder-confirmed"),
        pytest.param("eni-1", ["eni-2"], False, c.Finding.HEAL, "eni-2", id="missed-claim-healed"),
        pytest.param(None, ["eni-2"], False, c.Finding.HEAL, "eni-2", id="unheld-found"),
        pytest.param("eni-1", ["eni-2"], True, c.Finding.CLAIM_WINS, "eni-1", id="fresh-claim-outranks-answer"),
        pytest.param("eni-2", ["eni-1", "eni-2"], False, c.Finding.SPLIT_BRAIN, "eni-2", id="split-keeps-holder"),
        pytest.param("eni-1", ["eni-3"], False, c.Finding.NO_ANSWER, None, id="non-claimant-answer-ignored"),
    ],
)
def test_decide_round(
    holder: str | None, answers: list[str], shielded: bool, finding: c.Finding, who: str | None
) -> None:
    v = c.decide_round(VIPINFO, "h1", holder, answers, shielded)
    assert (v.finding, v.interface_id) == (finding, who)


def test_split_brain_names_the_others() -> None:
    v = c.decide_round(VIPINFO, "h1", "eni-2", ["eni-1", "eni-2"], False)
    assert v.others == ("eni-1",)


def test_probe_targets_are_the_claimant_ports() -> None:
    assert [(v.ip, p.device) for v, p in c.probe_targets(view())] == [(VIP, "p1"), (VIP, "p2")]


def test_local_claims_stay_until_a_fetch_started_after_delivery() -> None:
    lc = c.LocalClaims().add("havip-1", "eni-2", 100)
    assert lc.retire(5).holders() == {"havip-1": "eni-2"}  # not delivered: kept
    lc = lc.delivered("havip-1", "eni-2", 100, seq=7)
    assert lc.retire(7).holders() == {"havip-1": "eni-2"}  # that fetch started before delivery
    assert lc.retire(8).holders() == {}
    assert lc.retire(0, havip_ids=[]).holders() == {}  # the HaVip is gone
    newer = lc.add("havip-1", "eni-1", 200)
    assert newer.delivered("havip-1", "eni-2", 100, seq=9) == newer  # an old delivery never retires a newer claim


FRAMES = [
    pytest.param(arp.build_garp(MAC, VIP), id="garp"),
    pytest.param(arp.build_garp(MAC, VIP, arp.ARP_REPLY), id="garp-reply"),
    pytest.param(arp.build_arp(arp.ARP_REPLY, MAC, VIP, "10.0.0.1", GW, eth_dst=GW), id="probe-answer"),
    pytest.param(arp.build_arp(arp.ARP_REPLY, MAC, VIP, "10.0.0.1", "52:54:00:00:00:09"), id="reply-to-other"),
    pytest.param(arp.build_arp(arp.ARP_REQUEST, MAC, "10.0.0.11", VIP), id="request"),
    pytest.param(arp.build_arp(arp.ARP_REQUEST, MAC, "0.0.0.0", VIP), id="probe"),
    pytest.param(bytes(60), id="garbage"),
]


@pytest.mark.parametrize("frame", FRAMES)
@pytest.mark.parametrize("pkttype", [0, arp.PACKET_OUTGOING])
def test_watch_filter_agrees_with_classify_watch(frame: bytes, pkttype: int) -> None:
    kept = arp.run_filter(arp.watch_filter(GW), frame, pkttype) > 0
    seen = arp.classify_watch(frame, 1, pkttype, GW)
    assert kept == (not isinstance(seen, arp.Ignored)), seen


def test_classify_watch_reads_a_probe_answer() -> None:
    frame = arp.build_arp(arp.ARP_REPLY, MAC, VIP, "10.0.0.1", GW, eth_dst=GW)
    assert arp.classify_watch(frame, 4, 0, GW) == arp.ProbeAnswer(4, VIP, MAC)


def test_drop_totals_survive_a_table_replace() -> None:
    t = DropTotals()
    assert t.deltas({"havip_antispoof.bad_ip": 5}) == {"havip_antispoof.bad_ip": 5}
    assert t.deltas({"havip_antispoof.bad_ip": 7}) == {"havip_antispoof.bad_ip": 2}
    assert t.deltas({"havip_antispoof.bad_ip": 3}) == {"havip_antispoof.bad_ip": 3}  # replaced: from 0
    t.forget_table("havip_antispoof")
    assert t.deltas({"havip_antispoof.bad_ip": 3}) == {"havip_antispoof.bad_ip": 3}


def test_split_vip_actions_splits_vip_actions_from_the_rest() -> None:
    acts: list[Action] = [
        ReplaceRoute(1, f"{VIP}/32", "p1"),
        ReplaceRoute(1, "10.0.0.11/32", "p1"),
        DeleteNeigh("p2", VIP),
    ]
    acts.append(ReplaceNeigh("p1", "10.0.0.11", MAC))
    mine, rest = split_vip_actions(list(acts), {VIP})
    assert mine == [acts[0], acts[2]] and rest == [acts[1], acts[3]]
