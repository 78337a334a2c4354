"""Tencent Cloud API 3.0: its request forms, signatures and envelope.

The SDKs send TC3-HMAC-SHA256 (``Authorization`` header; ``X-TC-Action``,
``X-TC-Version``, ``X-TC-Timestamp``, ``X-TC-Region``; the parameters as a JSON body,
or flattened in the query with GET), or, when asked to, the legacy HmacSHA256 /
HmacSHA1 form signature (everything, ``Action`` and ``Signature`` included, in a form
body). Every answer is HTTP 200 with ``Content-Type: application/json`` exactly —
the SDK reads ``Response.Error`` only then, and turns any other status into a
``ServerNetworkError`` that loses the code: ``{"Response": {..., "RequestId"}}`` or
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from havip import logs
from havip.api.compat import signing, wording
from havip.api.compat.call import Call, Env, Signed, authenticate, outcome
from havip.api.compat.tencent import actions, idmap
from havip.api.compat.tencent.errors import TABLE
from havip.api.compat.wire import Args, Nested, Wire, unflatten
from havip.domain.errors import HavipError, InvalidParameter, Unauthenticated
from havip.domain.rules import TENCENT_ADDRESSES
from havip.service.context import check_region

log = logging.getLogger("havip.api.compat")

VERSION = "2017-03-12"
SERVICE = "vpc"
MAX_SKEW = dt.timedelta(minutes=5)
MEDIA_TYPE = "application/json"  # exactly: with "; charset=utf-8" the SDK misses every error
LEGACY_COMMON = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "Language",
        "RequestClient",
    }
)


@dataclass(frozen=True)
class TcRequest:
    action: str
    version: str
    region: str | None
    params: Nested
    signed: Signed


def _timestamp(text: str | None) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(text or ""), dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise Unauthenticated(
            f"the timestamp {text!r} is not a Unix time in seconds", code="Unauthenticated.TimestampMalformed"
        ) from exc


def _bad_authorization(what: str) -> Unauthenticated:
    return Unauthenticated(f"the request is not signed correctly: {what}", code="Unauthenticated.SignatureMissing")


def _json_body(wire: Wire) -> Nested:
    if not wire.body:
        return {}
    try:
        body = json.loads(wire.body)
    except ValueError as exc:
        raise InvalidParameter(f"the body is not JSON: {exc}", code="InvalidParameter.Value") from exc
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object", code="InvalidParameter.Value")
    return body


def _tc3(wire: Wire, fields: dict[str, str]) -> TcRequest:
    credential, signature = fields.get("Credential", ""), fields.get("Signature", "")
    signed_headers = [h for h in fields.get("SignedHeaders", "").split(";") if h]
    access_key_id, date, service, terminal = [*credential.split("/"), "", "", ""][:4]
    if not access_key_id or not signature or terminal != "tc3_request" or service != SERVICE:
        raise _bad_authorization(f"Credential must be SecretId/YYYY-MM-DD/{SERVICE}/tc3_request, with a Signature")
    if "content-type" not in signed_headers or "host" not in signed_headers:
        raise _bad_authorization("SignedHeaders must include content-type and host")
    stamp = wire.header("x-tc-timestamp")
    timestamp = _timestamp(stamp)
    if date != f"{timestamp:%Y-%m-%d}":
        raise _bad_authorization(f"the credential date {date} is not the UTC date of X-TC-Timestamp")
    is_get = wire.method == "GET"
    unsigned = wire.header("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
    payload = b"UNSIGNED-PAYLOAD" if unsigned else (b"" if is_get else wire.body)
    params = unflatten(dict(wire.query_pairs())) if is_get else _form_or_json(wire)

    def verify(secret: str) -> bool:
        expected = signing.tc3_signature(
            secret,
            method=wire.method,
            path=wire.path,
            query=wire.query if is_get else "",
            headers=wire.headers,
            signed_headers=signed_headers,
            payload_hash=signing.sha256_hex(payload),
            timestamp=stamp or "",
            date=date,
            service=service,
        )
        return signing.same(expected, signature)

    return TcRequest(
        action=wire.header("x-tc-action") or "",
        version=wire.header("x-tc-version") or "",
        region=wire.header("x-tc-region"),
        params=params,
        signed=Signed(access_key_id, timestamp, None, verify),
    )


def _form_or_json(wire: Wire) -> Nested:
    pairs = wire.form_pairs()
    return unflatten(dict(pairs)) if pairs else _json_body(wire)


def _legacy(wire: Wire) -> TcRequest:
    flat = dict(wire.query_pairs()) | dict(wire.form_pairs())
    signature = flat.pop("Signature", "")
    algorithm = flat.get("SignatureMethod", "HmacSHA1")
    if not signature or not flat.get("SecretId"):
        raise _bad_authorization("the parameters SecretId and Signature are required")
    if algorithm not in signing.TC_LEGACY_DIGESTS:
        raise _bad_authorization(f"SignatureMethod {algorithm!r} is not HmacSHA256 or HmacSHA1")
    host = wire.header("host") or ""
    method = wire.method

    def verify(secret: str) -> bool:
        expected = signing.tc_legacy_signature(secret, algorithm, method=method, host=host, path=wire.path, params=flat)
        return signing.same(expected, signature)

    return TcRequest(
        action=flat.get("Action", ""),
        version=flat.get("Version", ""),
        region=flat.get("Region"),
        params=unflatten({k: v for k, v in flat.items() if k not in LEGACY_COMMON}),
        signed=Signed(flat["SecretId"], _timestamp(flat.get("Timestamp")), flat.get("Nonce") or None, verify),
    )


def parse(wire: Wire) -> TcRequest:
    fields = signing.parse_authorization(wire.header("authorization") or "", signing.TC3)
    if fields is not None:
        return _tc3(wire, fields)
    if wire.header("authorization"):
        raise _bad_authorization("the Authorization header must be TC3-HMAC-SHA256")
    return _legacy(wire)


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
        handler = actions.ACTIONS.get(action)
        if handler is None:
            raise InvalidParameter(f"the action {action!r} is not supported", code="InvalidAction.NotFound")
        principal = authenticate(env, req.signed, MAX_SKEW)
        ctx = env.ctx(principal, TENCENT_ADDRESSES)
        region = check_region(ctx, req.region)
        body = handler(Call(ctx, Args(idmap.inward(req.params)), region, env.request_id, env.memory))
        outcome("tencent", action, env.request_id)
        return answer(idmap.outward({**body, "RequestId": env.request_id}))
    except HavipError as exc:
        return failure(exc, action, env.request_id)
    except Exception as exc:  # a bug: the SDK still gets the cloud's envelope
        logs.event(log, "unhandled-error", level=logging.ERROR, exc_info=exc, cloud="tencent", action=action or "-")
        outcome("tencent", action, env.request_id, "InternalError", "InternalError")
        body = {"Error": {"Code": "InternalError", "Message": "an internal error occurred; quote the request id"}}
        return answer({**body, "RequestId": env.request_id})


def failure(exc: HavipError, action: str, request_id: str) -> Response:
    cloud = TABLE.translate(exc.code, exc.kind, action)
    outcome("tencent", action, request_id, cloud.code, exc.code)
    return answer(
        {
            "Error": {"Code": cloud.code, "Message": idmap.tencent_id(wording.tencent(exc.message))},
            "RequestId": request_id,
        }
    )


def answer(response: dict[str, Any]) -> Response:
    return Response(json.dumps({"Response": response}), status_code=200, media_type=MEDIA_TYPE)
