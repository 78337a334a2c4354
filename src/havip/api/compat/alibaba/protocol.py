"""Alibaba Cloud's RPC protocol: the two request styles, their signatures, the envelope.

Current SDKs send signature V3 (``Authorization: ACS3-HMAC-SHA256 ...``, the action
in ``x-acs-action``, the parameters in the query); Terraform and older SDKs send the
classic RPC style (``Action``, ``AccessKeyId``, ``Signature`` with HMAC-SHA1, the
parameters in the query or a form body). ``handle`` accepts both, authenticates,
runs the action and answers as the SDK parses: success 200 with ``RequestId`` and
the fields at the top level; an error 4xx/5xx with ``{RequestId, HostId, Code,
Message}`` from the one error table (``errors.TABLE``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from havip import logs
from havip.api.compat import signing, wording
from havip.api.compat.alibaba import actions
from havip.api.compat.alibaba.errors import TABLE
from havip.api.compat.call import Call, Env, Signed, authenticate, outcome
from havip.api.compat.wire import Args, Wire, unflatten
from havip.domain.errors import HavipError, InvalidParameter, Unauthenticated
from havip.domain.rules import ALIBABA_ADDRESSES
from havip.service.context import check_region

log = logging.getLogger("havip.api.compat")

VERSION = "2016-04-28"
MAX_SKEW = dt.timedelta(minutes=15)
MEDIA_TYPE = "application/json;charset=utf-8"
# the headers a V3 request must sign: without them a signature could be replayed with other values
MUST_SIGN = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce")
# the RPC style's common parameters; everything else is the action's
COMMON = frozenset(
    {
        "Action",
        "Format",
        "Version",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "SecurityToken",
    }
)


@dataclass(frozen=True)
class AliRequest:
    action: str
    version: str
    params: dict[str, str]
    signed: Signed


def _timestamp(text: str | None) -> dt.datetime:
    try:
        return dt.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise Unauthenticated(
            f"the timestamp {text!r} is not UTC time of the form 2024-01-01T00:00:00Z",
            code="Unauthenticated.TimestampMalformed",
        ) from exc


def _missing_signature(what: str) -> Unauthenticated:
    return Unauthenticated(f"the request is not signed completely: {what}", code="Unauthenticated.SignatureMissing")


def _v3(wire: Wire, fields: dict[str, str]) -> AliRequest:
    access_key_id, signature = fields.get("Credential", ""), fields.get("Signature", "")
    signed_headers = [h for h in fields.get("SignedHeaders", "").split(";") if h]
    if not access_key_id or not signature or not signed_headers:
        raise _missing_signature("the Authorization header needs Credential, SignedHeaders and Signature")
    if unsigned := [h for h in MUST_SIGN if h not in signed_headers]:
        raise _missing_signature(f"these headers must be signed: {', '.join(unsigned)}")
    payload_hash = wire.header("x-acs-content-sha256") or ""
    if payload_hash != hashlib.sha256(wire.body).hexdigest():
        raise Unauthenticated(
            "x-acs-content-sha256 is not the SHA-256 of the body", code="Unauthenticated.SignatureMismatch"
        )
    nonce = wire.header("x-acs-signature-nonce")
    if not nonce:
        raise InvalidParameter("the header x-acs-signature-nonce is required", code="MissingParameter.SignatureNonce")
    query = wire.query_pairs()
    canonical = signing.acs3_canonical_request(
        wire.method, wire.path, query, wire.headers, signed_headers, payload_hash
    )
    return AliRequest(
        action=wire.header("x-acs-action") or "",
        version=wire.header("x-acs-version") or "",
        params=dict(query) | dict(wire.form_pairs()),
        signed=Signed(
            access_key_id=access_key_id,
            timestamp=_timestamp(wire.header("x-acs-date")),
            nonce=nonce,
            verify=lambda secret: signing.same(signing.acs3_signature(secret, canonical), signature),
        ),
    )


def _rpc(wire: Wire, merged: dict[str, str]) -> AliRequest:
    signature = merged.pop("Signature")
    if merged.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise _missing_signature(f"SignatureMethod {merged['SignatureMethod']!r} is not supported; use HMAC-SHA1")
    if not merged.get("AccessKeyId"):
        raise _missing_signature("the parameter AccessKeyId is required")
    nonce = merged.get("SignatureNonce")
    if not nonce:
        raise InvalidParameter("the parameter SignatureNonce is required", code="MissingParameter.SignatureNonce")
    method = wire.method
    string_to_sign = signing.rpc_string_to_sign(method, merged)
    return AliRequest(
        action=merged.get("Action") or wire.header("x-acs-action") or "",
        version=merged.get("Version") or wire.header("x-acs-version") or "",
        params={k: v for k, v in merged.items() if k not in COMMON},
        signed=Signed(
            access_key_id=merged["AccessKeyId"],
            timestamp=_timestamp(merged.get("Timestamp")),
            nonce=nonce,
            verify=lambda secret: signing.same(signing.rpc_signature(secret, method, merged), signature),
            # Alibaba's words: the older SDK compares the text after the colon with its own string to
            # sign and, when they agree, reports InvalidAccessKeySecret (the secret, not the request, is wrong)
            mismatch=f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
        ),
    )


def parse(wire: Wire) -> AliRequest:
    """Either style; the signature is checked later, against the AccessKey's secret."""
    fields = signing.parse_authorization(wire.header("authorization") or "", signing.ACS3)
    if fields is not None:
        return _v3(wire, fields)
    merged = dict(wire.query_pairs()) | dict(wire.form_pairs())
    if "Signature" in merged:
        return _rpc(wire, merged)
    raise _missing_signature("send an ACS3-HMAC-SHA256 Authorization header or a Signature parameter")


def handle(wire: Wire, env: Env) -> Response:
    action = ""
    try:
        req = parse(wire)
        action = req.action
        if req.version != VERSION:
            raise InvalidParameter(
                f"API version {req.version!r} is not served here; the VPC API is {VERSION}",
                code="InvalidAction.Version",
            )
        entry = actions.ACTIONS.get(action)
        if entry is None:
            raise InvalidParameter(f"the action {action!r} is not supported", code="InvalidAction.NotFound")
        principal = authenticate(env, req.signed, MAX_SKEW)
        ctx = env.ctx(principal, ALIBABA_ADDRESSES)
        args = Args(unflatten(req.params))
        region = check_region(ctx, args.text("RegionId"))
        call = Call(ctx, args, region, env.request_id, env.memory)
        body = actions.run(call, action, entry)
        outcome("alibaba", action, env.request_id)
        return _answer(200, {"RequestId": env.request_id, **body})
    except HavipError as exc:
        return failure(exc, action, env.request_id, wire.header("host"))
    except Exception as exc:  # a bug: the SDK still gets the cloud's envelope
        logs.event(log, "unhandled-error", level=logging.ERROR, exc_info=exc, cloud="alibaba", action=action or "-")
        outcome("alibaba", action, env.request_id, "InternalError", "InternalError")
        return _error(500, "InternalError", "an internal error occurred; quote the request id", env.request_id, None)


def failure(exc: HavipError, action: str, request_id: str, host: str | None) -> Response:
    cloud = TABLE.translate(exc.code, exc.kind, action)
    outcome("alibaba", action, request_id, cloud.code, exc.code)
    return _error(cloud.status, cloud.code, wording.alibaba(exc.message), request_id, host)


def _error(status: int, code: str, message: str, request_id: str, host: str | None) -> Response:
    body = {"RequestId": request_id, "HostId": host or "vpc.aliyuncs.com", "Code": code, "Message": message}
    return _answer(status, body)


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=MEDIA_TYPE)
