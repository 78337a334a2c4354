"""Inputs the API fuzzer (test_fuzz.py) found answered with 500, now refused with 400 on both engines.

Each case also shows that the refused request changed nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/v1/havips", "/v1/vpcs", "/v1/accounts", "/v1/eips"])
def test_an_offset_beyond_any_engine_is_refused(tenant: Caller, path: str) -> None:
    body = tenant.fails("GET", path, 400, "InvalidParameter", params={"offset": 2**63})
    assert "offset" in body["message"]
    assert tenant.get(path, params={"offset": 2**31 - 1})["items"] == []


@pytest.fixture
def member(tenant: Caller, net: Net) -> dict[str, str]:
    inst = net.instance(tenant, host="h1")
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    return {"havip": h["id"], "eni": inst["network_interfaces"][0]["id"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"latency_us": 2**63}, "latency_us", id="latency-beyond-64-bits"),
        pytest.param({"latency_us": 3_600_000_001}, "latency_us", id="latency-over-an-hour"),
        pytest.param({"cause": "c" * 65}, "cause", id="cause-too-long"),
        pytest.param({"cause": "garp\x00"}, "cause", id="cause-with-nul"),
        pytest.param({"cause": "garp\n"}, "cause", id="cause-with-newline"),
    ],
)
def test_a_report_the_store_cannot_keep_is_refused(
    tenant: Caller, net: Net, member: dict[str, str], change: dict[str, Any], field: str
) -> None:
    hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()  # within the event retention age
    report = {"havip_id": member["havip"], "interface_id": member["eni"], "kind": "claim", "at": hour_ago}
    body = net.agent_h1.fails("POST", "/v1/hosts/h1/reports", 400, "InvalidParameter", json={**report, **change})
    assert field in body["message"]
    assert tenant.get(f"/v1/havips/{member['havip']}")["holder"] is None
    assert tenant.get(f"/v1/havips/{member['havip']}/events", params={"kind": "holder_changed"})["total"] == 0
    # the longest allowed values are kept as given
    done = {**report, "latency_us": 3_600_000_000, "cause": "c" * 64}
    assert net.agent_h1.post("/v1/hosts/h1/reports", done, status=200)["outcome"] == "holder-changed"
    [event] = tenant.get(f"/v1/havips/{member['havip']}/events", params={"kind": "holder_changed"})["items"]
    assert (event["latency_us"], event["cause"]) == (3_600_000_000, "c" * 64)


def test_a_nul_character_in_a_filter_or_an_id_finds_nothing(tenant: Caller, net: Net) -> None:
    tenant.post("/v1/havips", {"subnet_id": net.subnet, "name": "web"})
    assert tenant.get("/v1/havips", params={"name": "web\x00"})["total"] == 0
    assert tenant.get("/v1/havips", params={"name": "web"})["total"] == 1
    tenant.fails("GET", "/v1/havips/havip-%00", 404, "NotFound.HaVip")
    tenant.fails("GET", "/v1/subnets/x%00y", 404, "NotFound.Subnet")


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
def test_a_report_time_outside_utc_is_refused(tenant: Caller, net: Net, member: dict[str, str], at: str) -> None:
    report = {"havip_id": member["havip"], "interface_id": member["eni"], "kind": "claim", "at": at}
    body = net.agent_h1.fails("POST", "/v1/hosts/h1/reports", 400, "InvalidParameter", json=report)
    assert "at" in body["message"]
    assert tenant.get(f"/v1/havips/{member['havip']}")["holder"] is None
