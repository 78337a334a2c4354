"""The facades' pure parts: signatures (against the SDKs' own), parameters, error tables, memory, routing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alibabacloud_tea_openapi.utils import Utils as AliUtils
from aliyunsdkcore.auth.composer import rpc_signature_composer
from tencentcloud.common.sign import Sign
from tencentcloud.vpc.v20170312 import errorcodes

from havip.api.compat import signing
from havip.api.compat.alibaba.errors import TABLE as ALIBABA
from havip.api.compat.errors import CloudCode, ErrorTable
from havip.api.compat.memory import ExpiringMap
from havip.api.compat.root import choose
from havip.api.compat.tencent.errors import TABLE as TENCENT
from havip.api.compat.wire import Args, Wire, unflatten
from havip.domain.errors import InvalidParameter, Kind

pytestmark = pytest.mark.unit

SECRET = "testAccessKeySecret"

# ---------------------------------------------------------------- signatures


class _Signable:
    def __init__(self, query: dict[str, str], headers: dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = "POST", "/", query, headers


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="no-query"),
        pytest.param({"RegionId": "cn-hangzhou", "Name": "my havip*~"}, id="encoded-values"),
        pytest.param({"Filter.1.Key": "HaVipId", "Filter.1.Value.1": "havip-1", "Empty": ""}, id="flattened"),
    ],
)
def test_acs3_matches_the_sdk(query: dict[str, str]) -> None:
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": "127.0.0.1:8080", "x-acs-action": "DescribeHaVips", "x-acs-date": "2026-01-01T00:00:00Z"}
    sdk = AliUtils.get_authorization(_Signable(query, headers), signing.ACS3, payload, "AK", SECRET)
    fields = signing.parse_authorization(sdk, signing.ACS3)
    assert fields is not None and fields["Credential"] == "AK"
    canonical = signing.acs3_canonical_request(
        "POST", "/", list(query.items()), {k: [v] for k, v in headers.items()}, sorted(headers), payload
    )
    assert signing.acs3_signature(SECRET, canonical) == fields["Signature"]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_rpc_matches_the_sdk(method: str) -> None:
    params = {"Action": "CreateHaVip", "Name": "a b*~/", "Timestamp": "2026-01-01T00:00:00Z", "Filter.1.Key": "k"}
    assert signing.rpc_signature(SECRET, method, params) == AliUtils.get_rpcsignature(params, method, SECRET)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_rpc_matches_the_older_sdk(method: str) -> None:
    """aliyun-python-sdk-core signs query and form body together; so does the facade (signature 1.0)."""
    query = {"Action": "CreateHaVip", "Name": "a b*~/:", "Filter.1.Key": "k"}
    body = {"Description": "d é"}
    url, sdk_string_to_sign = rpc_signature_composer.get_signed_url(query, "AK", SECRET, "JSON", method, body)
    sent = dict(parse_qsl(url.removeprefix("/?"), keep_blank_values=True))
    signature = sent.pop("Signature")
    assert signing.rpc_string_to_sign(method, sent | body) == sdk_string_to_sign
    assert signing.rpc_signature(SECRET, method, sent | body) == signature


def test_tc3_matches_the_documented_algorithm_with_the_sdk_key() -> None:
    body = b'{"HaVipIds": ["havip-1"]}'
    headers = {"content-type": ["application/json"], "host": ["127.0.0.1:8080"]}
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "content-type:application/json\nhost:127.0.0.1:8080\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", "1767225600", "2026-01-01/vpc/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    ours = signing.tc3_signature(
        SECRET,
        method="POST",
        path="/",
        query="",
        headers=headers,
        signed_headers=["content-type", "host"],
        payload_hash=hashlib.sha256(body).hexdigest(),
        timestamp="1767225600",
        date="2026-01-01",
        service="vpc",
    )
    assert ours == Sign.sign_tc3(SECRET, "2026-01-01", "vpc", to_sign)


@pytest.mark.parametrize("algorithm", ["HmacSHA256", "HmacSHA1"])
def test_tencent_legacy_matches_the_sdk(algorithm: str) -> None:
    params = {"Action": "DescribeHaVips", "HaVipIds.0": "havip-1", "Nonce": "7", "Filters.0.Values.0": "a b"}
    to_sign = "POST127.0.0.1:8080/?" + "&".join(f"{k}={params[k]}" for k in sorted(params))
    ours = signing.tc_legacy_signature(SECRET, algorithm, method="POST", host="127.0.0.1:8080", path="/", params=params)
    assert ours == Sign.sign(SECRET, to_sign, algorithm)


@pytest.mark.parametrize(
    ("value", "scheme", "expected"),
    [
        pytest.param("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=ff", signing.ACS3,
                     {"Credential": "AK", "SignedHeaders": "a;b", "Signature": "ff"}, id="alibaba"),
        pytest.param("TC3-HMAC-SHA256 Credential=AK/2026-01-01/vpc/tc3_request, SignedHeaders=content-type;host, "
                     "Signature=ee", signing.TC3,
                     {"Credential": "AK/2026-01-01/vpc/tc3_request", "SignedHeaders": "content-type;host",
                      "Signature": "ee"}, id="tencent"),
        pytest.param("Bearer key.secret", signing.ACS3, None, id="other-scheme"),
    ],
)  # fmt: skip
def test_parse_authorization(value: str, scheme: str, expected: dict[str, str] | None) -> None:
    assert signing.parse_authorization(value, scheme) == expected


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("flat", "nested"),
    [
        pytest.param({"RegionId": "r"}, {"RegionId": "r"}, id="plain"),
        pytest.param({"Filter.1.Key": "k", "Filter.1.Value.1": "a", "Filter.1.Value.2": "b", "Filter.2.Key": "j"},
                     {"Filter": [{"Key": "k", "Value": ["a", "b"]}, {"Key": "j"}]}, id="alibaba-1-based"),
        pytest.param({"HaVipIds.0": "h0", "HaVipIds.1": "h1"}, {"HaVipIds": ["h0", "h1"]}, id="tencent-0-based"),
        pytest.param({"Tag.10.Key": "x", "Tag.2.Key": "y"}, {"Tag": [{"Key": "y"}, {"Key": "x"}]}, id="index-order"),
    ],
)  # fmt: skip
def test_unflatten(flat: dict[str, str], nested: dict[str, Any]) -> None:
    assert unflatten(flat) == nested


@pytest.mark.parametrize(
    ("values", "read", "expected"),
    [
        pytest.param({"Force": "True"}, lambda a: a.boolean("Force", False), True, id="bool-python-str"),
        pytest.param({"Force": "false"}, lambda a: a.boolean("Force", True), False, id="bool-lower"),
        pytest.param({"Force": True}, lambda a: a.boolean("Force", False), True, id="bool-json"),
        pytest.param({}, lambda a: a.boolean("Force", False), False, id="bool-default"),
        pytest.param({"Limit": "20"}, lambda a: a.integer("Limit", 1, 1, 100), 20, id="int-from-str"),
        pytest.param({"Limit": 7}, lambda a: a.integer("Limit", 1, 1, 100), 7, id="int-json"),
        pytest.param({"VpcId": "vpc-a, vpc-b"}, lambda a: a.strings("VpcId"), ["vpc-a", "vpc-b"], id="comma-list"),
        pytest.param({"HaVipIds": ["h1"]}, lambda a: a.strings("HaVipIds"), ["h1"], id="json-list"),
        pytest.param({"Name": ""}, lambda a: a.text("Name", "d"), "d", id="empty-is-default"),
    ],
)
def test_args_read(values: dict[str, Any], read: Any, expected: object) -> None:
    assert read(Args(values)) == expected


@pytest.mark.parametrize(
    ("values", "read", "code"),
    [
        pytest.param({}, lambda a: a.need("HaVipId"), "MissingParameter.HaVipId", id="missing"),
        pytest.param({"Force": "maybe"}, lambda a: a.boolean("Force", False), "InvalidParameter.Value", id="bad-bool"),
        pytest.param({"Limit": "x"}, lambda a: a.integer("Limit", 1, 1, 100), "InvalidParameter.Value", id="not-int"),
        pytest.param({"Limit": 101}, lambda a: a.integer("Limit", 1, 1, 100), "InvalidParameter.Value", id="too-big"),
        pytest.param({"Limit": True}, lambda a: a.integer("Limit", 1, 1, 100), "InvalidParameter.Value", id="bool-int"),
        pytest.param({"Filters": "x"}, lambda a: a.objects("Filters"), "InvalidParameter.Value", id="not-objects"),
        pytest.param({"Name": ["x"]}, lambda a: a.text("Name"), "InvalidParameter.Value", id="list-as-text"),
    ],
)
def test_args_refuse(values: dict[str, Any], read: Any, code: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        read(Args(values))
    assert info.value.code == code


def test_nested_args_name_their_place() -> None:
    [flt] = Args({"Filters": [{"Values": ["a"]}]}).objects("Filters")
    with pytest.raises(InvalidParameter, match=r"Filters\.0\.Name"):
        flt.need("Name")


# ---------------------------------------------------------------- error tables

TABLE = ErrorTable(
    rows={
        "NotFound.HaVip": {"*": CloudCode("HaVipMissing", 404), "Special": CloudCode("SpecialMissing", 400)},
        "NotFound": CloudCode("Missing", 404),
        "MissingParameter": CloudCode("MissingParameter"),
    },
    by_kind={kind: CloudCode(f"by-{kind.value}") for kind in Kind},
)


@pytest.mark.parametrize(
    ("code", "kind", "action", "expected"),
    [
        pytest.param("NotFound.HaVip", Kind.NOT_FOUND, "Any", CloudCode("HaVipMissing", 404), id="row-default"),
        pytest.param("NotFound.HaVip", Kind.NOT_FOUND, "Special", CloudCode("SpecialMissing"), id="row-per-action"),
        pytest.param("NotFound.Vpc", Kind.NOT_FOUND, "Any", CloudCode("Missing", 404), id="prefix"),
        pytest.param("MissingParameter.HaVipId", Kind.INVALID, "Any", CloudCode("MissingParameter"), id="prefix-2"),
        pytest.param("Conflict.Other", Kind.CONFLICT, "Any", CloudCode("by-conflict"), id="by-kind"),
    ],
)
def test_translate(code: str, kind: Kind, action: str, expected: CloudCode) -> None:
    assert TABLE.translate(code, kind, action) == expected


def _known_tencent_codes() -> set[str]:
    common = {  # API 3.0's common codes (cloud-api.md §4.3)
        "AuthFailure",
        "AuthFailure.SignatureFailure",
        "AuthFailure.SignatureExpire",
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.InvalidAuthorization",
        "InvalidAction",
        "NoSuchVersion",
        "UnsupportedRegion",
        "UnauthorizedOperation",
    }
    listed = {v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str)}
    return common | listed


def test_every_tencent_code_is_one_the_sdk_knows() -> None:
    assert TENCENT.codes() - _known_tencent_codes() == set()


@pytest.mark.parametrize(("table", "statuses"), [(ALIBABA, {400, 403, 404, 500, 503}), (TENCENT, {400})])
def test_tables_answer_every_kind(table: ErrorTable, statuses: set[int]) -> None:
    for kind in Kind:
        assert table.translate("Nothing.Like.This", kind, "Any").code
    for row in table.rows.values():
        codes = [row] if isinstance(row, CloudCode) else list(row.values())
        assert {c.status for c in codes} <= statuses


@pytest.mark.parametrize(
    ("code", "action", "alibaba", "tencent"),
    [
        ("IncorrectStatus.HaVip", "AssociateHaVip", "IncorrectHaVipStatus", "UnsupportedOperation"),
        ("IncorrectStatus.HaVip", "DeleteHaVip", "IncorrectStatus", "UnsupportedOperation"),
        ("IncorrectEipStatus", "HaVipAssociateAddressIp", "IncorrectEipStatus", "UnsupportedOperation.BindEIP"),
        ("IncorrectEipStatus", "HaVipDisassociateAddressIp", "IncorrectEipStatus", "UnsupportedOperation.UnbindEIP"),
        ("QuotaExceeded.havips_per_account", "CreateHaVip", "QuotaExceeded.HaVip", "LimitExceeded"),
        ("Unauthenticated.NonceUsed", "DescribeHaVips", "SignatureNonceUsed", "AuthFailure.SignatureFailure"),
        ("NotFound.Subnet", "CreateHaVip", "InvalidVSwitch.NotFound", "ResourceNotFound"),
    ],
)
def test_rows_for_the_documented_codes(code: str, action: str, alibaba: str, tencent: str) -> None:
    kind = Kind.CONFLICT
    assert ALIBABA.translate(code, kind, action).code == alibaba
    assert TENCENT.translate(code, kind, action).code == tencent


# ---------------------------------------------------------------- memory


def test_expiring_map_forgets_after_ttl_and_when_full() -> None:
    seen: ExpiringMap[str, int] = ExpiringMap(ttl=10.0, size=2)
    assert seen.put_new("a", 1, now=0.0) and not seen.put_new("a", 2, now=5.0)
    assert seen.get("a", now=9.9) == 1 and seen.get("a", now=10.0) is None
    assert seen.put_new("a", 3, now=10.0)
    assert seen.put_new("b", 4, now=11.0) and seen.put_new("c", 5, now=12.0)
    assert len(seen) == 2 and seen.get("a", now=12.0) is None  # the oldest went first


# ---------------------------------------------------------------- which cloud


def _wire(headers: Mapping[str, str] = {}, query: str = "", body: bytes = b"", form: bool = False) -> Wire:
    h = {k.lower(): [v] for k, v in headers.items()}
    if form:
        h["content-type"] = ["application/x-www-form-urlencoded"]
    return Wire("POST", "/", query, h, body)


@pytest.mark.parametrize(
    ("wire", "cloud"),
    [
        pytest.param(_wire({"X-TC-Action": "DescribeHaVips"}), "tencent", id="tc3"),
        pytest.param(_wire(body=b"Action=DescribeHaVips&SecretId=x", form=True), "tencent", id="tencent-legacy"),
        pytest.param(_wire({"x-acs-action": "DescribeHaVips"}), "alibaba", id="acs3"),
        pytest.param(_wire(query="Action=DescribeHaVips&AccessKeyId=x"), "alibaba", id="rpc-query"),
        pytest.param(_wire(body=b"Action=DescribeHaVips&AccessKeyId=x", form=True), "alibaba", id="rpc-form"),
        pytest.param(_wire(), None, id="neither"),
    ],
)
def test_choose(wire: Wire, cloud: str | None) -> None:
    chosen = choose(wire)
    assert (chosen.__module__.split(".")[3] if chosen else None) == cloud
