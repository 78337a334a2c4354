"""The four request signatures of the cloud SDKs, computed the way the SDKs compute them.

Pure functions (strings in, signature out); the protocol modules parse requests,
call these with the AccessKey secret and compare in constant time. References:
``../shared/research/cloud-api.md`` §2 (Alibaba) and §4 (Tencent), verified against
``alibabacloud_tea_openapi.utils`` and ``tencentcloud.common.sign``.

- ACS3-HMAC-SHA256: Alibaba's current SDKs (signature V3, ``Authorization`` header).
- HMAC-SHA1 RPC (SignatureVersion 1.0): Terraform and older Alibaba SDKs (``Signature`` parameter).
- TC3-HMAC-SHA256: Tencent API 3.0 (``Authorization`` header).
- HmacSHA256 / HmacSHA1: Tencent's legacy form signature (``Signature`` parameter).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
TC3 = "TC3-HMAC-SHA256"
TC_LEGACY_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


def pct(text: str) -> str:
    """RFC 3986 percent-encoding as both clouds sign: only unreserved characters and ``~`` stay."""
    return quote(text, safe="~", encoding="utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def parse_authorization(value: str, scheme: str) -> dict[str, str] | None:
    """``SCHEME Credential=..,SignedHeaders=..,Signature=..`` (either cloud's separators); None if not ``scheme``."""
    prefix, _, rest = value.strip().partition(" ")
    if prefix != scheme:
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            fields[name] = val.strip()
    return fields


# ---------------------------------------------------------------- Alibaba


def acs3_canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The V3 canonical request: query sorted by key (keys raw, values RFC 3986), the signed headers."""
    canon_query = "&".join(f"{k}={pct(v)}" for k, v in sorted(query))
    canon_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in headers.get(name, ())))}\n" for name in signed_headers
    )
    return "\n".join([method, path or "/", canon_query, canon_headers, ";".join(signed_headers), payload_hash])


def acs3_signature(secret: str, canonical_request: str) -> str:
    string_to_sign = f"{ACS3}\n{sha256_hex(canonical_request.encode('utf-8'))}"
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&pct(sorted pct(k)=pct(v))``; ``params`` excludes ``Signature``."""
    canonical = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    return f"{method}&{pct('/')}&{pct(canonical)}"


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """HMAC-SHA1 with ``secret&`` over ``rpc_string_to_sign``, base64."""
    string_to_sign = rpc_string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------- Tencent


def tc3_signature(
    secret: str,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, Sequence[str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    timestamp: str,
    date: str,
    service: str,
) -> str:
    """TC3: the canonical request, the credential scope ``date/service/tc3_request``, a derived key."""
    canon_headers = "".join(f"{name}:{','.join(headers.get(name, ())).strip()}\n" for name in signed_headers)
    canonical = "\n".join([method, path or "/", query, canon_headers, ";".join(signed_headers), payload_hash])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([TC3, timestamp, scope, sha256_hex(canonical.encode("utf-8"))])
    key = _hmac_sha256(_hmac_sha256(_hmac_sha256(f"TC3{secret}".encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc_legacy_signature(
    secret: str, algorithm: str, *, method: str, host: str, path: str, params: Mapping[str, str]
) -> str:
    """``base64(HMAC(secret, METHOD + host + path + "?" + sorted raw k=v))``; ``params`` excludes ``Signature``.

    The SDK writes ``_`` in parameter names as ``.`` in the string it signs.
    """
    digest = TC_LEGACY_DIGESTS[algorithm]
    joined = "&".join(
        f"{k.replace('_', '.')}={v}" for k, v in sorted(params.items(), key=lambda kv: kv[0].replace("_", "."))
    )
    string_to_sign = f"{method}{host}{path or '/'}?{joined}"
    return base64.b64encode(hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), digest).digest()).decode()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
