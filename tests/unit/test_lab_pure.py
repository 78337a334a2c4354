"""The lab's pure parts: the product page's configuration, the spec, the scenarios, the failover timeline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import pytest

from havip.keepalived.check import Facts, Severity, check
from havip.lab.build import LabBuilder
from havip.lab.connection import Held, read_held
from havip.lab.control import names_lab
from havip.lab.failover import Failures
from havip.lab.probe import Answer, parse_line
from havip.lab.product_page import LabKeepalived, render
from havip.lab.scenarios import Scenario, inet_namespace, remote_namespace, transit
from havip.lab.service import parse_peer_names
from havip.lab.spec import (
    SCENARIOS,
    LabPaths,
    LabSpec,
    check_name,
    check_scenario,
    host_namespace,
    instance_namespace,
    namespace_prefix,
    port_device,
    underlay_namespace,
)
from havip.lab.timeline import analyse

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).with_name("golden")
FACTS = Facts("172.17.16.0/24", {"172.17.16.3": ["172.17.16.7", "172.17.16.13"]})
MS = 1_000_000


@pytest.mark.parametrize(
    ("advert", "version", "golden"),
    [
        pytest.param(1.0, 2, "lab-product-page-v2.conf", id="page-timers"),
        pytest.param(0.1, 3, "lab-product-page-v3.conf", id="vrrp3-fast"),
    ],
)
def test_product_page_config(advert: float, version: int, golden: str) -> None:
    text = render(
        LabKeepalived(
            "172.17.16.7",
            ["172.17.16.13"],
            "172.17.16.3",
            advert_int=advert,
            vrrp_version=version,
            notify="/run/havip/lab/x/notify-i1.sh",
        )
    )
    path = GOLDEN / golden
    if os.environ.get("HAVIP_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
    report = check(text, FACTS)
    assert report.ok
    assert [f for f in report.findings if f.severity is not Severity.NOTE] == []


def test_product_page_block_is_the_pages_own() -> None:
    page = (GOLDEN / "tencent-product-page.conf").read_text()
    ours = render(LabKeepalived("172.17.16.7", ["172.17.16.13"], "172.17.16.3", priority=80))
    for line in (
        "state BACKUP           #备",
        "nopreempt                   #非抢占模式",
        "garp_master_delay 1",
        "garp_master_refresh 5",
        "unicast_src_ip 172.17.16.7   #本机内网 IP",
    ):
        assert line in page and line in ours


def test_spec_round_trip_and_names() -> None:
    spec = LabSpec(name="x1", advert_int=0.1, binding_mode="subnet")
    again = LabSpec.from_json(spec.to_json())
    assert again == spec and again.version == 3 and LabSpec().version == 2
    assert [m.name for m in spec.members()] == ["i1", "i2"]
    assert instance_namespace("x1", "i1") == "havip-x1-i1" and len(port_device("a-very-long-name")) <= 15


def test_extra_havips_take_the_subnets_upper_half_and_ride_in_keepalived_excluded() -> None:
    spec = LabSpec(subnet_cidr="172.17.16.0/22", extra_havips=3)
    assert spec.extra_vips() == ["172.17.18.0", "172.17.18.1", "172.17.18.2"]
    assert LabSpec.from_json(spec.to_json()) == spec and LabSpec().extra_vips() == []
    full = LabSpec(subnet_cidr="172.17.16.0/22", extra_havips=508)  # 512 in the half, the last 4 withheld
    assert full.extra_vips()[-1] == "172.17.19.251"
    with pytest.raises(ValueError, match="choose a larger subnet"):
        LabSpec(extra_havips=200).extra_vips()  # a /24 has 124 in its upper half
    conf = render(
        LabKeepalived("172.17.16.7", ["172.17.16.13"], "172.17.16.3", extra_vips=("172.17.18.0", "172.17.18.1"))
    )
    block = conf.split("virtual_ipaddress_excluded {\n", 1)[1].split("    }\n", 1)[0]
    assert block.split() == ["172.17.18.0", "172.17.18.1"]
    assert "virtual_ipaddress_excluded" not in render(LabKeepalived("172.17.16.7", ["172.17.16.13"], "172.17.16.3"))


@pytest.mark.parametrize("name", ["", "UPPER", "-lead", "x" * 17, "a b", "a-b"])
def test_bad_lab_names(name: str) -> None:
    with pytest.raises(ValueError, match="lab name"):
        check_name(name)


def test_probe_line_parsing() -> None:
    assert parse_line("7 100 200 i1") == Answer(7, 100, 200, "i1")
    assert parse_line("garbage") is None and parse_line("a b c d") is None


def answers(*rows: tuple[int, int, str]) -> list[Answer]:
    return [Answer(i, sent * MS, sent * MS + MS // 2, who) for i, (sent, _unused, who) in enumerate(rows)]


def test_timeline_of_a_clean_failover() -> None:
    # probe every 10 ms; failure at 0; GARP at 300 ms, switch 0.4 ms later; i2 answers from 310 ms
    rows = [(t, 0, "i1") for t in range(-50, 0, 10)] + [(t, 0, "i2") for t in range(310, 400, 10)]
    tl = analyse("kill", "i1", "i2", 0, 300 * MS, 400, answers(*rows), 10 * MS)
    d = tl.as_dict()
    assert d["garp_seen_ms"] == 300 and d["route_switched_ms"] == pytest.approx(300.4)
    assert d["first_answer_ms"] == pytest.approx(310.5)
    assert d["switch_latency_ms"] == pytest.approx(0.4)
    assert d["lost_probes"] == 31  # requests sent at 0..300 ms that nobody answered
    assert d["stale_answers_after_switch"] == 0


def test_timeline_counts_a_non_holders_answer_after_the_switch() -> None:
    rows = [(t, 0, "i2") for t in range(310, 340, 10)] + [(350, 0, "i1")]
    tl = analyse("freeze", "i1", "i2", 0, 300 * MS, 0, answers(*rows), 10 * MS)
    assert tl.stale_answers_after_switch == 1
    assert tl.last_old_answer_ns == 350 * MS + MS // 2


def test_across_hosts_stale_counts_from_the_switch_on_the_host_the_requests_enter() -> None:
    # the claimant's host switched at 300.4 ms; the client's host 2 ms later, by the claim message:
    # a request sent in between still reached the crashed master (it keeps its address)
    rows = [(301, 0, "i1"), (303, 0, "i2"), (305, 0, "i2"), (320, 0, "i1")]
    strict = analyse("kill", "i1", "i2", 0, 300 * MS, 400, answers(*rows), 1 * MS)
    assert strict.stale_answers_after_switch == 2
    entered = analyse("kill", "i1", "i2", 0, 300 * MS, 400, answers(*rows), 1 * MS, stale_after_ns=302 * MS)
    assert entered.stale_answers_after_switch == 1, "only the answer to the request sent at 320 ms"
    assert entered.route_switched_ns == strict.route_switched_ns, "the timeline still shows the claimant's switch"


def test_timeline_without_a_switch() -> None:
    tl = analyse("kill", "i1", "i2", 0, None, None, [], 10 * MS)
    assert tl.as_dict()["garp_seen_ms"] is None and tl.first_answer_ns is None and tl.lost_probes == 0


def test_scenarios_in_the_spec_and_their_checks() -> None:
    spec = LabSpec(name="x1", scenario="gateway")
    assert LabSpec.from_json(spec.to_json()).scenario == "gateway"
    assert LabSpec().scenario == "basic" and set(SCENARIOS) == {"basic", "eip", "gateway"}
    assert check_scenario("eip") == "eip"
    with pytest.raises(ValueError, match="scenario"):
        check_scenario("vpn")


def test_scenario_names_and_agent_arguments() -> None:
    assert inet_namespace("x1") == "havip-x1-inet" and remote_namespace("x1") == "havip-x1-remote"
    assert transit(2) == ("100.64.2.1", "100.64.2.2")
    assert Scenario("eip").agent_args(1, 1) == ["--uplink", "uplink", "--uplink-gateway", "198.51.100.253"]
    assert Scenario("eip").agent_args(1, 3) == ["--uplink", "uplink", "--uplink-gateway", "198.51.100.253"]
    # across hosts, every other host sends the EIP's traffic to host 1 (docs/agent.md)
    assert Scenario("eip").agent_args(2, 3) == Scenario("eip").agent_args(3, 3) == ["--eip-host", "lab-host"]
    assert Scenario("gateway").agent_args(1, 3) == [] and Scenario("basic").agent_args(2, 3) == []


def test_peer_names_of_the_remote_service() -> None:
    assert parse_peer_names("100.64.1.1=i1, 100.64.2.1=i2,") == {"100.64.1.1": "i1", "100.64.2.1": "i2"}
    with pytest.raises(ValueError, match="ADDRESS=NAME"):
        parse_peer_names("100.64.1.1")


@pytest.mark.parametrize(
    ("lines", "held"),
    [
        pytest.param("", Held(None, None, None, None), id="not-yet"),
        pytest.param("open i1 100\n", Held("i1", 100, None, None), id="waiting"),
        pytest.param("open i1 100\nreset 250\n", Held("i1", 100, "reset", 250), id="reset"),
        pytest.param("failed 90 ConnectionRefusedError()\n", Held(None, None, "failed", 90), id="failed"),
    ],
)
def test_held_connection_log(tmp_path: Path, lines: str, held: Held) -> None:
    path = tmp_path / "connection.log"
    path.write_text(lines)
    assert read_held(path) == held
    assert read_held(tmp_path / "missing.log") == Held(None, None, None, None)


@pytest.mark.parametrize(
    ("cmd", "mine"),
    [
        ("keepalived -f /run/havip/labs/a/i1.conf", True),
        ("python -m havip.lab.probe --dir /run/havip/labs/a", True),
        ("ip netns exec havip-a-i1 keepalived", True),
        ("keepalived -f /run/havip/labs/ab/i1.conf", False),
        ("keepalived -f /run/havip/labs/a-b/i1.conf", False),
        ("ip netns exec havip-ab-i1 keepalived", False),
    ],
    ids=["file-in-root", "root-itself", "namespace", "longer-name", "dash-name", "longer-namespace"],
)
def test_lab_down_kills_only_its_own_processes(cmd: str, mine: bool) -> None:
    assert names_lab(cmd, LabPaths(Path("/run/havip/labs/a"))) is mine


class FakeNode:
    def __init__(self, name: str) -> None:
        self.name, self.role, self.instance_id, self.keepalived = name, "member", f"i-{name}", None


class FakeLab:
    """i1 is master until the failure is injected; then i2 is, and the control plane is gone."""

    spec = LabSpec(name="x1")
    scenario = Scenario()
    havip_id = "havip-1"

    def __init__(self) -> None:
        self.nodes = {"i1": FakeNode("i1"), "i2": FakeNode("i2")}
        self.broken = False

    def holder(self) -> str:
        return "i2" if self.broken else "i1"

    def api(self) -> object:
        raise RuntimeError("the control plane went away mid-failover")


class RecordingFailures(Failures):
    def inject(self, mode: str, node: object) -> None:
        cast(FakeLab, self.lab).broken = True
        self.done = [("inject", mode)]

    def repair(self, mode: str, node: object) -> None:
        self.done.append(("repair", mode))


def test_a_failover_that_fails_after_the_switch_still_repairs_the_old_master() -> None:
    f = RecordingFailures(cast(LabBuilder, FakeLab()))  # the parts of a lab a failover uses
    with pytest.raises(RuntimeError, match="went away"):
        f.failover("link")
    assert f.done == [("inject", "link"), ("repair", "link")]


# ------------------------------------------------------------------ several hosts


def test_one_host_lab_is_placed_as_before() -> None:
    spec = LabSpec()
    assert spec.placed() == spec
    assert {i.host for i in spec.instances} == {1}


def test_three_hosts_put_the_members_and_the_client_apart() -> None:
    placed = LabSpec(hosts=3).placed()
    where = {i.name: i.host for i in placed.instances}
    assert where == {"i1": 1, "i2": 2, "client": 3}
    assert placed.host_names() == ["lab-host", "lab-host2", "lab-host3"]
    assert [placed.underlay(k) for k in (1, 2, 3)] == ["10.255.0.1", "10.255.0.2", "10.255.0.3"]


def test_two_hosts_keep_the_client_with_i1_and_more_hosts_get_bystanders() -> None:
    assert {i.name: i.host for i in LabSpec(hosts=2).placed().instances} == {"i1": 1, "i2": 2, "client": 1}
    ten = LabSpec(hosts=10).placed()
    bystanders = [i for i in ten.instances if i.role == "bystander"]
    assert [(i.name, i.host) for i in bystanders] == [(f"b{k}", k) for k in range(4, 11)]
    addresses = [i.address for i in ten.instances]
    assert len(set(addresses)) == len(addresses)
    assert not set(addresses) & set(LabSpec(hosts=10, extra_havips=20).extra_vips())
    assert ten.placed() == ten  # placing twice changes nothing
    assert LabSpec.from_json(ten.to_json()) == ten


def test_host_namespaces_keep_the_one_host_name_for_host_1() -> None:
    assert host_namespace("lab") == host_namespace("lab", 1) == "havip-lab-host"
    assert host_namespace("lab", 4) == "havip-lab-host4"
    assert underlay_namespace("lab").startswith(namespace_prefix("lab"))


@pytest.mark.parametrize("hosts", [0, 11, -1])
def test_a_lab_has_one_to_ten_hosts(hosts: int) -> None:
    with pytest.raises(ValueError, match="1 to 10 hosts"):
        LabSpec(hosts=hosts)
