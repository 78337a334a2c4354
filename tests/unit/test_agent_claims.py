"""The claim path's pure decisions, the watch filter, local claims, drop totals, reporter."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from havip.agent import arp
from havip.agent import claims as c
from havip.agent.actions import DeleteNeigh, ReplaceNeigh, ReplaceRoute
from havip.agent.claimpath import ClaimPath
from havip.agent.dataplane.watcher import Frame
from havip.agent.metrics import AgentMetrics, DropTotals
from havip.agent.reporter import Report, Reporter
from havip.agent.runtime import keep_running, vip_actions
from havip.agent.settings import DiscoverySettings, ReportSettings
from havip.client import ApiError

pytestmark = pytest.mark.unit

GW = "ee:ff:ff:ff:ff:ff"
MAC = "52:54:00:00:00:01"
VIP = "10.0.0.3"


def view(holder: str | None = "eni-1", holder_host: str | None = "h1") -> c.ClaimView:
    ports = {
        n: c.PortInfo(f"eni-{n}", f"p{n}", n, "vpc-1", 20000, f"52:54:00:00:00:0{n}")
        for n in (1, 2, 3)  # eni-3 is no claimant
    }
    vip = c.VipInfo("havip-1", "vpc-1", VIP, 20000, frozenset({"eni-1", "eni-2"}), "10.0.0.1", holder, holder_host)
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


def test_vip_actions_are_split_from_the_rest() -> None:
    acts = [ReplaceRoute(1, f"{VIP}/32", "p1"), ReplaceRoute(1, "10.0.0.11/32", "p1"), DeleteNeigh("p2", VIP)]
    acts.append(ReplaceNeigh("p1", "10.0.0.11", MAC))
    mine, rest = vip_actions(list(acts), {VIP})
    assert mine == [acts[0], acts[2]] and rest == [acts[1], acts[3]]


class FlakySink:
    """Fails ``failures`` times, then answers each report; ``gone`` is refused alone."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0
        self.batches: list[list[str]] = []

    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ApiError(0, "ConnectionFailed", "down")
        self.batches.append([b["havip_id"] for b in bodies])
        return [
            {"error": {"code": "NotFound.HaVip", "message": "no such HaVip"}}
            if b["havip_id"] == "gone"
            else {"outcome": "holder-changed"}
            for b in bodies
        ]


def _collect(
    expected: int,
) -> tuple[list[tuple[str, str | None]], threading.Event, Callable[[Report, str | None], None]]:
    done: list[tuple[str, str | None]] = []
    finished = threading.Event()

    def on_done(rep: Report, outcome: str | None) -> None:
        done.append((rep.havip_id, outcome))
        if len(done) == expected:
            finished.set()

    return done, finished, on_done


def test_reporter_retries_while_down_and_drops_final_rejections() -> None:
    sink = FlakySink(failures=3)
    done, finished, on_done = _collect(2)
    r = Reporter(sink, "h1", ReportSettings(backoff=(0.001,)), on_done)
    r.put(Report("havip-1", "eni-1", "claim", 1_700_000_000_000_000_000, "garp-request", 300))
    r.put(Report("gone", "eni-1", "claim", 1_700_000_000_000_000_000))
    r.start()
    assert finished.wait(5)
    r.stop()
    assert done == [("havip-1", "holder-changed"), ("gone", None)]
    assert sink.calls == 4 and sink.batches == [["havip-1", "gone"]], "one batch, retried while down"
    assert r.pending() == 0


def test_reporter_sends_the_queue_in_order_in_batches_of_batch_max() -> None:
    sink = FlakySink(failures=0)
    done, finished, on_done = _collect(5)
    r = Reporter(sink, "h1", ReportSettings(batch_max=2), on_done)
    for n in range(5):
        r.put(Report(f"havip-{n}", "eni-1", "claim", n + 1))
    r.start()
    assert finished.wait(5)
    r.stop()
    assert sink.batches == [["havip-0", "havip-1"], ["havip-2", "havip-3"], ["havip-4"]]
    assert done == [(f"havip-{n}", "holder-changed") for n in range(5)]


class RefusingSink:
    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        raise ApiError(403, "Forbidden.NotThisHost", "not your host")


def test_a_batch_refused_whole_settles_every_report_of_it() -> None:
    done, finished, on_done = _collect(2)
    r = Reporter(RefusingSink(), "h1", ReportSettings(), on_done)
    r.put(Report("havip-1", "eni-1", "claim", 1, local_claim=True))
    r.put(Report("havip-2", "eni-1", "refused", 2))
    r.start()
    assert finished.wait(5)
    r.stop()
    assert done == [("havip-1", None), ("havip-2", None)] and r.pending() == 0


def test_report_body_is_the_wire_schema() -> None:
    body = Report("h", "e", "split-brain", 1_700_000_000_123_000_000, "discovery-timer", None, ("e2",)).body()
    assert body == {
        "havip_id": "h",
        "interface_id": "e",
        "kind": "split-brain",
        "at": "2023-11-14T22:13:20.123000Z",
        "cause": "discovery-timer",
        "others": ["e2"],
    }


def test_a_full_report_queue_drops_refusals_first_and_settles_a_dropped_claim() -> None:
    done: list[tuple[str, str | None]] = []
    r = Reporter(
        FlakySink(failures=0),
        "h1",
        ReportSettings(queue_max=3, batch_max=1),
        lambda rep, o: done.append((rep.havip_id, o)),
    )
    claim = functools.partial(Report, interface_id="eni-1", kind="claim", local_claim=True)
    r.put(claim("c1", at_ns=1))
    r.put(Report("r1", "eni-2", "refused", 2))
    r.put(claim("c2", at_ns=3))
    r.put(claim("c3", at_ns=4))  # full: the refusal goes, no claim
    assert [rep.havip_id for rep in r.queued()] == ["c1", "c2", "c3"]
    assert done == []
    r.put(claim("c4", at_ns=5))  # only claims left: the oldest not in flight goes, and is settled
    assert [rep.havip_id for rep in r.queued()] == ["c1", "c3", "c4"]
    assert done == [("c2", None)]


def test_keep_running_survives_an_exception_logs_counts_and_backs_off() -> None:
    stop, calls, failed = threading.Event(), [], []

    def body() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ValueError("a desired state that does not validate")
        stop.set()

    keep_running("follow", body, stop, (0.001,), failed.append)
    assert len(calls) == 3
    assert failed == ["follow", "follow"]


class BuggySink(FlakySink):
    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug, not an ApiError")
        return [{"outcome": "holder-changed"} for _ in bodies]


def test_reporter_survives_an_unexpected_exception_and_retries() -> None:
    done: list[tuple[str, str | None]] = []
    errors: list[BaseException] = []
    finished = threading.Event()

    def on_done(rep: Report, outcome: str | None) -> None:
        done.append((rep.havip_id, outcome))
        finished.set()

    r = Reporter(BuggySink(failures=0), "h1", ReportSettings(backoff=(0.001,)), on_done, errors.append)
    r.start()
    r.put(Report("havip-1", "eni-1", "claim", 1))
    assert finished.wait(5)
    r.stop()
    assert done == [("havip-1", "holder-changed")]
    assert [type(e) for e in errors] == [RuntimeError]


class TwoFrameWatcher:
    """A readable pipe that yields two gratuitous ARPs, then nothing."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.write(self._w, b"x")
        garp = arp.build_arp(arp.ARP_REQUEST, "02:00:00:00:00:01", "10.0.0.100", "10.0.0.100")
        self.frames = [Frame(garp, "p1", 5, 0, 1), Frame(garp, "p1", 5, 0, 2)]

    def fileno(self) -> int:
        return self._r

    def receive(self, timeout: float) -> Frame | None:
        return self.frames.pop() if self.frames else None

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


class BrokenHost:
    switch_lock = threading.Lock()

    def __init__(self) -> None:
        self.calls = 0
        self.twice = threading.Event()

    def claim_state(self) -> tuple[c.ClaimView, dict[str, str]]:
        self.calls += 1
        if self.calls == 2:
            self.twice.set()
        raise KeyError("a bug in the claim state")


def test_the_claim_path_survives_an_unexpected_exception() -> None:
    metrics, host, watcher = AgentMetrics(), BrokenHost(), TwoFrameWatcher()
    path = ClaimPath(host, watcher, None, None, metrics, DiscoverySettings(interval=3600), "02:00:00:00:00:fe")
    path.start()
    assert host.twice.wait(5)  # the first exception did not end the thread: it read the next frame
    path.stop()
    watcher.close()
    assert metrics.registry.get_sample_value("havip_agent_loop_errors_total", {"loop": "claims"}) == 2
