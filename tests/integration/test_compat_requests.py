"""Requests crafted by hand, as Terraform and older tools send them, and what the SDKs cannot send.

Alibaba's classic RPC style the way Terraform's provider sends it (tea-rpc): common
parameters in the query, business parameters in a form body, HMAC-SHA1 over both.
Signatures are made with the SDKs' own signing functions, not with havip's. Also:
replayed nonces, tampered bodies, unknown actions and versions, ClientToken
idempotency, and the exact envelopes (status, Content-Type) the SDKs depend on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_tea_openapi.utils import Utils as AliUtils
from tencentcloud.common.sign import Sign

from havip.api.compat.alibaba import actions as alibaba_actions
from havip.api.compat.tencent import actions as tencent_actions

from .cloudkit import ALI_REGION, TC_REGION, CloudKit
from .compat_fixtures import cloud_fixture, fresh_fixture, shared_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def terraform(
    cloud: CloudKit, action: str, body: dict[str, str], query: dict[str, str] | None = None, **common: str
) -> dict[str, str]:
    """The query and form of one tea-rpc request, signed over both (HMAC-SHA1, SignatureVersion 1.0)."""
    q = {
        "Action": action,
        "Format": "JSON",
        "Version": "2016-04-28",
        "AccessKeyId": cloud.key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": now_utc(),
        **(query or {}),
        **common,
    }
    q["Signature"] = AliUtils.get_rpcsignature({**q, **body}, "POST", cloud.secret)
    return q


def send(cloud: CloudKit, query: dict[str, str], body: dict[str, str]) -> httpx.Response:
    return cloud.http.post(
        "/?" + urlencode(query),
        content=urlencode(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def ok(cloud: CloudKit, action: str, body: dict[str, str], query: dict[str, str] | None = None) -> dict[str, Any]:
    resp = send(cloud, terraform(cloud, action, body, query), body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json;charset=utf-8"
    data: dict[str, Any] = resp.json()
    assert data["RequestId"] == resp.headers["x-request-id"]
    return data


def failed(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message"}
    assert body["Code"] == code and body["Message"]


def test_terraform_style_life_cycle(cloud: CloudKit) -> None:
    region = {"RegionId": ALI_REGION}
    vpc = ok(cloud, "CreateVpc", {**region, "CidrBlock": "172.17.0.0/16", "VpcName": "tf vpc", "ClientToken": "t1"})
    again = ok(cloud, "CreateVpc", {**region, "CidrBlock": "172.17.0.0/16", "VpcName": "tf vpc", "ClientToken": "t1"})
    assert again["VpcId"] == vpc["VpcId"]  # the retry of a create returns the first result
    vsw = ok(cloud, "CreateVSwitch", {**region, "VpcId": vpc["VpcId"], "CidrBlock": "172.17.16.0/24", "ZoneId": "z"})
    havip = ok(cloud, "CreateHaVip", {**region, "VSwitchId": vsw["VSwitchId"], "Name": "tf havip", "ClientToken": "t2"})
    found = ok(cloud, "DescribeHaVips", {**region, "Filter.1.Key": "HaVipId", "Filter.1.Value.1": havip["HaVipId"]})
    [item] = found["HaVips"]["HaVip"]
    assert (item["Name"], item["Status"], item["AssociatedInstances"]) == (
        "tf havip",
        "Available",
        {"associatedInstance": []},
    )
    i1, _ = cloud.instance(vsw["VSwitchId"])
    assoc = {**region, "HaVipId": havip["HaVipId"], "InstanceId": i1, "ClientToken": "t3"}
    ok(cloud, "AssociateHaVip", assoc)
    ok(cloud, "AssociateHaVip", assoc)  # a retry with its ClientToken: the first answer, not a duplicate
    other = {**assoc, "InstanceId": cloud.instance(vsw["VSwitchId"])[0]}
    failed(send(cloud, terraform(cloud, "AssociateHaVip", other), other), 400, "IdempotentParameterMismatch")

    cloud.eip_pool(ALI_REGION)
    eip = ok(cloud, "AllocateEipAddress", {**region, "Name": "tf eip"})
    # alicloud_eip_association: InstanceId and AllocationId in the query, the rest in the body
    ok(
        cloud,
        "AssociateEipAddress",
        {**region, "ClientToken": "t4", "InstanceType": "HaVip"},
        {"InstanceId": havip["HaVipId"], "AllocationId": eip["AllocationId"]},
    )
    listed = ok(cloud, "DescribeEipAddresses", {**region, "AllocationId": eip["AllocationId"]})
    [address] = listed["EipAddresses"]["EipAddress"]
    assert (address["Status"], address["InstanceType"], address["InstanceId"]) == ("InUse", "HaVip", havip["HaVipId"])
    found = ok(cloud, "DescribeHaVips", {**region, "Filter.1.Key": "HaVipId", "Filter.1.Value.1": havip["HaVipId"]})
    [item] = found["HaVips"]["HaVip"]
    assert item["AssociatedEipAddresses"] == {"associatedEipAddresse": [eip["EipAddress"]]}
    assert item["AssociatedInstances"] == {"associatedInstance": [i1]}


def test_a_replayed_request_is_refused(fresh: CloudKit) -> None:
    cloud = fresh
    body = {"RegionId": ALI_REGION}
    query = terraform(cloud, "DescribeVpcs", body)
    assert send(cloud, query, body).status_code == 200
    failed(send(cloud, query, body), 400, "SignatureNonceUsed")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param(
            {"body": {"RegionId": ALI_REGION, "VpcName": "other"}}, 400, "SignatureDoesNotMatch", id="tampered"
        ),
        pytest.param({"query": {"Timestamp": "2020-01-01T00:00:00Z"}}, 400, "InvalidTimeStamp.Expired", id="expired"),
        pytest.param({"query": {"Timestamp": "yesterday"}}, 400, "InvalidTimeStamp.Format", id="bad-timestamp"),
        pytest.param({"query": {"SignatureMethod": "HMAC-MD5"}}, 400, "IncompleteSignature", id="bad-method"),
        pytest.param({"query": {"Action": "CreateNatGateway"}}, 404, "InvalidApi.NotFound", id="unknown-action"),
        pytest.param({"query": {"Version": "2014-05-26"}}, 400, "InvalidVersion", id="other-version"),
        pytest.param({"query": {"SignatureNonce": ""}}, 400, "MissingParameter", id="no-nonce"),
    ],
)
def test_bad_classic_requests(fresh: CloudKit, change: dict[str, dict[str, str]], status: int, code: str) -> None:
    cloud = fresh
    body = {"RegionId": ALI_REGION}
    query = terraform(cloud, "DescribeVpcs", body, **cast(dict[str, Any], change.get("query", {})))
    failed(send(cloud, query, change.get("body", body)), status, code)


def test_a_missing_parameter_names_it(fresh: CloudKit) -> None:
    cloud = fresh
    body = {"RegionId": ALI_REGION}
    resp = send(cloud, terraform(cloud, "CreateHaVip", body), body)
    failed(resp, 400, "MissingParameter")
    assert "VSwitchId" in resp.json()["Message"]


class _Signable:
    """What the Alibaba SDK's ``Utils.get_authorization`` reads of a request."""

    def __init__(self, query: dict[str, str], headers: dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = "POST", "/", query, headers


def acs3(
    cloud: CloudKit, action: str, query: dict[str, str], *, body: bytes = b"", unsigned: tuple[str, ...] = ()
) -> dict[str, str]:
    """The headers of a V3 request, signed with the SDK's own function (``unsigned`` are added after)."""
    payload = hashlib.sha256(body).hexdigest()
    headers = {
        "host": cloud.endpoint,
        "x-acs-action": action,
        "x-acs-version": "2016-04-28",
        "x-acs-date": now_utc(),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": payload,
    }
    signed = {k: v for k, v in headers.items() if k not in unsigned}
    auth = AliUtils.get_authorization(_Signable(query, signed), "ACS3-HMAC-SHA256", payload, cloud.key_id, cloud.secret)
    return {**headers, "Authorization": auth}


def test_acs3_by_hand(fresh: CloudKit) -> None:
    cloud = fresh
    query = {"RegionId": ALI_REGION, "VpcName": "a b*c~"}  # spaces, '*' and '~' are encoded as the SDK signs them
    headers = acs3(cloud, "DescribeVpcs", query)
    resp = cloud.http.post("/?" + urlencode(query), headers=headers)
    assert resp.status_code == 200, resp.text
    failed(cloud.http.post("/?" + urlencode(query), headers=headers), 400, "SignatureNonceUsed")


@pytest.mark.parametrize(
    ("unsigned", "body", "code"),
    [
        pytest.param((), b"RegionId=x", "SignatureDoesNotMatch", id="body-not-hashed"),
        pytest.param(("x-acs-signature-nonce",), b"", "IncompleteSignature", id="nonce-unsigned"),
        pytest.param(("x-acs-date",), b"", "IncompleteSignature", id="date-unsigned"),
    ],
)
def test_bad_acs3_requests(fresh: CloudKit, unsigned: tuple[str, ...], body: bytes, code: str) -> None:
    cloud = fresh
    query = {"RegionId": ALI_REGION}
    headers = acs3(cloud, "DescribeVpcs", query, unsigned=unsigned)
    failed(cloud.http.post("/?" + urlencode(query), headers=headers, content=body), 400, code)


def test_tencent_errors_keep_the_sdk_envelope(fresh: CloudKit) -> None:
    cloud = fresh
    resp = cloud.http.post(
        "/",
        content=b"{}",
        headers={"X-TC-Action": "DescribeHaVips", "X-TC-Version": "2017-03-12", "Content-Type": "application/json"},
    )
    assert resp.status_code == 200  # Tencent answers errors with 200; any other status loses the code
    assert resp.headers["content-type"] == "application/json"  # exactly, or the SDK misses the error
    body = resp.json()["Response"]
    assert body["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert body["RequestId"] == resp.headers["x-request-id"]


def legacy(cloud: CloudKit, action: str, params: dict[str, str], nonce: str) -> dict[str, str]:
    """A Tencent legacy-signature form, signed with the SDK's own function."""
    form = {
        **params,
        "Action": action,
        "Nonce": nonce,
        "Timestamp": str(int(dt.datetime.now(dt.UTC).timestamp())),
        "Version": "2017-03-12",
        "Region": TC_REGION,
        "SecretId": cloud.key_id,
        "SignatureMethod": "HmacSHA256",
    }
    to_sign = "POST" + cloud.endpoint + "/?" + "&".join(f"{k}={form[k]}" for k in sorted(form))
    form["Signature"] = Sign.sign(cloud.secret, to_sign, "HmacSHA256")
    return form


def test_tencent_legacy_nonce_replay_is_refused(fresh: CloudKit) -> None:
    cloud = fresh
    form = legacy(cloud, "DescribeVpcs", {"Offset": "0"}, nonce="4242")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    first = cloud.http.post("/", content=urlencode(form), headers=headers).json()["Response"]
    assert first["TotalCount"] == 0 and "Error" not in first
    again = cloud.http.post("/", content=urlencode(form), headers=headers).json()["Response"]
    assert again["Error"]["Code"] == "AuthFailure.SignatureFailure"


def tc3(cloud: CloudKit, action: str, body: bytes) -> dict[str, str]:
    """TC3 headers over ``body``, following the documented algorithm with the SDK's key derivation."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    date = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        ["POST", "/", "", f"content-type:application/json\nhost:{cloud.endpoint}\n", "content-type;host",
         hashlib.sha256(body).hexdigest()]
    )  # fmt: skip
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(now), f"{date}/vpc/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signature = Sign.sign_tc3(cloud.secret, date, "vpc", to_sign)
    return {
        "X-TC-Action": action,
        "X-TC-Version": "2017-03-12",
        "X-TC-Timestamp": str(now),
        "X-TC-Region": TC_REGION,
        "Content-Type": "application/json",
        "Authorization": f"TC3-HMAC-SHA256 Credential={cloud.key_id}/{date}/vpc/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}",
    }


def test_tencent_tc3_by_hand_and_tampered(fresh: CloudKit) -> None:
    cloud = fresh
    headers = tc3(cloud, "DescribeHaVips", b'{"Limit": 5}')
    good = cloud.http.post("/", content=b'{"Limit": 5}', headers=headers).json()["Response"]
    assert good["TotalCount"] == 0 and "Error" not in good
    bad = cloud.http.post("/", content=b'{"Limit": 6}', headers=headers).json()["Response"]
    assert bad["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_the_root_without_a_cloud_is_the_native_404(fresh: CloudKit) -> None:
    cloud = fresh
    resp = cloud.http.get("/")
    assert resp.status_code == 404
    assert resp.json()["code"] == "NotFound.Route"


def test_a_bug_still_answers_in_each_clouds_envelope(fresh: CloudKit, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_call: object) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setitem(alibaba_actions.ACTIONS, "DescribeVpcs", alibaba_actions.Entry(broken))
    monkeypatch.setitem(tencent_actions.ACTIONS, "DescribeVpcs", broken)
    error = fresh.ali_error("DescribeVpcs")
    assert (error.code, error.status_code) == ("InternalError", 500)
    assert fresh.tc_error("DescribeVpcs").get_code() == "InternalError"
