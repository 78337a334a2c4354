"""The nftables ruleset rendering: golden text, chain spreading, digests."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from havip.agent.desired import build_desired
from havip.agent.ruleset import MAX_DEVICES_PER_CHAIN, render_tables
from havip.domain.desired import DesiredState

from .agent_fixtures import Iface, State, two_ports

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parent / "golden" / "agent-ruleset.nft"


def many_ports(n: int) -> DesiredState:
    return State(
        [
            Iface(
                f"eni-{i:04d}",
                "vpc-1",
                f"52:54:00:00:{i // 256:02x}:{i % 256:02x}",
                f"p{i}",
                [f"10.0.{i // 250}.{i % 250 + 2}"],
            )
            for i in range(n)
        ]
    )


def test_golden() -> None:
    tables = render_tables(build_desired(two_ports()))
    text = "".join(tables[key][1] for key in sorted(tables))
    if os.environ.get("HAVIP_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


@pytest.mark.parametrize(
    ("ports", "chains"),
    [
        pytest.param(1, 1, id="1"),
        pytest.param(255, 1, id="255"),
        pytest.param(256, 2, id="256"),
        pytest.param(600, 3, id="600"),
    ],
)
def test_ports_spread_over_base_chains(ports: int, chains: int) -> None:
    _digest, text = render_tables(build_desired(many_ports(ports)))[("netdev", "havip_antispoof")]
    hooks = re.findall(r"devices = \{ (.*?) \}", text)
    assert len(hooks) == chains
    per_chain = [len(h.split(", ")) for h in hooks]
    assert max(per_chain) <= MAX_DEVICES_PER_CHAIN
    assert sum(per_chain) == ports


def test_digest_changes_with_content_only() -> None:
    a = render_tables(build_desired(two_ports()))
    b = render_tables(build_desired(two_ports()))
    c = render_tables(build_desired(two_ports(holder="eni-2")))  # holder is not in the ruleset
    d = render_tables(build_desired(State(two_ports().interfaces)))  # no HaVip any more
    assert a == b == c
    assert ("arp", "havip_garp") not in d
    assert d[("netdev", "havip_antispoof")][0] != a[("netdev", "havip_antispoof")][0]


def test_no_ports_no_tables() -> None:
    assert render_tables(build_desired(State([], []))) == {}
