"""keepalived.conf rendering (golden text) and the HaVip lint, table-driven."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from havip.keepalived.check import Facts, Severity, check
from havip.keepalived.conf import ParseError, parse
from havip.keepalived.render import Member, RenderError, RenderOptions, render

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).with_name("golden")
FACTS = Facts("172.17.16.0/24", {"172.17.16.3": ["172.17.16.7", "172.17.16.13"]})


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("HAVIP_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; rerun with HAVIP_UPDATE_GOLDEN=1 if intended"


def test_render_product_page_member_v2() -> None:
    text = render(
        "172.17.16.3", Member("eth0", "172.17.16.7"), ["172.17.16.13"], RenderOptions(priority=80, auth_pass="1111")
    )
    golden("render-v2.conf", text)


def test_render_v3_subsecond_with_health_check() -> None:
    options = RenderOptions(
        vrrp_version=3, advert_int=0.1, track_scripts={"checkhaproxy": "/usr/bin/curl -sf http://127.0.0.1:8080/"}
    )
    text = render("172.17.16.3", Member("eth0", "172.17.16.13"), ["172.17.16.7", "172.17.16.20"], options)
    golden("render-v3.conf", text)


@pytest.mark.parametrize(
    ("vip", "me", "peers", "options", "needle"),
    [
        pytest.param("172.17.16.3", "172.17.16.7", [], RenderOptions(), "unicast peer", id="no-peers"),
        pytest.param("172.17.16.3", "172.17.16.7", ["172.17.16.7"], RenderOptions(), "own address", id="self-peer"),
        pytest.param(
            "172.17.16.3", "172.17.16.7", ["172.17.16.13"], RenderOptions(advert_int=0.5), "VRRPv2", id="v2-fraction"
        ),
        pytest.param(
            "172.17.16.3",
            "172.17.16.7",
            ["172.17.16.13"],
            RenderOptions(vrrp_version=3, advert_int=0.001),
            "0.01",
            id="v3-too-fast",
        ),
        pytest.param(
            "172.17.16.3", "172.17.16.7", ["172.17.16.13"], RenderOptions(priority=255), "priority", id="prio-255"
        ),
        pytest.param(
            "172.17.16.3", "172.17.16.7", ["172.17.16.13"], RenderOptions(auth_pass="123456789"), "8", id="long-pass"
        ),
        pytest.param(
            "172.17.16.3",
            "172.17.16.7",
            ["172.17.16.13"],
            RenderOptions(virtual_router_id=0),
            "virtual_router_id",
            id="vrid-0",
        ),
    ],
)
def test_render_refuses(vip: str, me: str, peers: list[str], options: RenderOptions, needle: str) -> None:
    with pytest.raises(RenderError, match=needle):
        render(vip, Member("eth0", me), peers, options)


def test_rendered_config_passes_its_own_check() -> None:
    text = render(
        "172.17.16.3", Member("eth0", "172.17.16.7"), ["172.17.16.13"], RenderOptions(vrrp_version=3, advert_int=0.1)
    )
    report = check(text, FACTS)
    assert report.ok
    assert [f for f in report.findings if f.severity is not Severity.NOTE] == []


def test_product_page_configuration_passes() -> None:
    text = (GOLDEN / "tencent-product-page.conf").read_text()
    for facts in (None, FACTS):
        report = check(text, facts)
        assert report.ok, report.findings
        # its track_script names a vrrp_script the page never shows: a warning, not an error
        assert {f.code for f in report.findings if f.severity is Severity.WARNING} == {"undefined-script"}


BASE = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    nopreempt
    priority 100
    advert_int 1
    unicast_src_ip 172.17.16.7
    unicast_peer {
        172.17.16.13
    }
    virtual_ipaddress {
        172.17.16.3
    }
    garp_master_refresh 5
}
"""


def variant(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


@pytest.mark.parametrize(
    ("text", "facts", "code", "severity"),
    [
        pytest.param(
            variant("    unicast_peer {\n        172.17.16.13\n    }\n", ""),
            None,
            "multicast",
            Severity.ERROR,
            id="multicast",
        ),
        pytest.param(
            variant("172.17.16.3\n", "172.17.16.9\n"), FACTS, "not-a-havip", Severity.ERROR, id="vip-not-havip"
        ),
        pytest.param(
            variant("unicast_src_ip 172.17.16.7", "unicast_src_ip 172.17.16.8"),
            FACTS,
            "not-a-member",
            Severity.ERROR,
            id="not-member",
        ),
        pytest.param(
            variant("        172.17.16.13\n", "        172.17.16.99\n"),
            FACTS,
            "peer-not-member",
            Severity.WARNING,
            id="peer-not-member",
        ),
        pytest.param(
            variant("        172.17.16.13\n", "        10.0.0.9\n"),
            FACTS,
            "outside-subnet",
            Severity.WARNING,
            id="peer-outside",
        ),
        pytest.param(
            variant("    nopreempt\n", "    use_vmac\n    nopreempt\n"), None, "vmac", Severity.ERROR, id="vmac"
        ),
        pytest.param(variant("    nopreempt\n", ""), None, "preempt", Severity.WARNING, id="preempts"),
        pytest.param(
            variant("state BACKUP", "state MASTER"), None, "nopreempt-master", Severity.WARNING, id="master-nopreempt"
        ),
        pytest.param(
            variant("advert_int 1", "advert_int 0.1"), None, "advert-int-v2", Severity.WARNING, id="v2-fraction"
        ),
        pytest.param(variant("    interface eth0\n", ""), None, "missing-interface", Severity.ERROR, id="no-interface"),
        pytest.param(
            variant("    virtual_ipaddress {\n        172.17.16.3\n    }\n", ""),
            None,
            "no-vip",
            Severity.ERROR,
            id="no-vip",
        ),
        pytest.param(
            variant("    unicast_src_ip 172.17.16.7\n", ""), None, "no-unicast-src", Severity.WARNING, id="no-src"
        ),
        pytest.param(variant("    garp_master_refresh 5\n", ""), None, "garp-refresh", Severity.NOTE, id="no-refresh"),
        pytest.param("global_defs {\n", None, "syntax", Severity.ERROR, id="unclosed"),
        pytest.param("global_defs { }\n", None, "no-instance", Severity.ERROR, id="no-instance"),
    ],
)
def test_check_findings(text: str, facts: Facts | None, code: str, severity: Severity) -> None:
    report = check(text, facts)
    found = [f for f in report.findings if f.code == code]
    assert found, report.findings
    assert found[0].severity is severity
    assert report.ok == (severity is not Severity.ERROR)


def test_clean_base_has_no_findings() -> None:
    assert check(BASE, FACTS).findings == []


def test_subnet_mode_allows_any_address() -> None:
    facts = Facts("172.17.16.0/24", {"172.17.16.3": None})
    text = variant("unicast_src_ip 172.17.16.7", "unicast_src_ip 172.17.16.8")
    assert check(text, facts).findings == []


def test_parser_brace_on_next_line_and_comments() -> None:
    root = parse(
        "vrrp_instance VI_1   # comment\n{\n  state BACKUP ! other comment\n  unicast_peer { 1.2.3.4 5.6.7.8 }\n}\n"
    )
    inst = root.find("vrrp_instance")
    assert inst is not None and inst.args == ["VI_1"] and inst.value("state") == "BACKUP"
    peers = inst.find("unicast_peer")
    assert peers is not None and peers.children[0].keyword == "1.2.3.4"


def test_parser_rejects_stray_brace() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse("}\n")
