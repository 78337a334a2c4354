"""The OpenAPI document driven by schemathesis, on both engines: no 5xx, every error in one form.

For every operation of ``/openapi.json`` schemathesis generates requests that fit the
schema (positive) and requests that break it (negative), a bounded number of each, and
sends them through the app in process with a real credential. Each operation is fuzzed
twice: with generated path parameters (almost always unknown ids) and with the ids of a
small cloud made beforehand, so the generated bodies and queries reach the use cases and
the store. Writes are allowed to succeed: deletes run last, so they cannot starve the
other operations of their resources.

Every answer must be below 500, and an error must be exactly ``{code, message,
request_id}`` with the request id of its header. Generation is derandomized (the same
cases on every run); a failure names the operation and the request as a curl command.
The tenant runs every operation; the operator every operation too, with fewer examples
(most of its answers differ from the tenant's only in the operator-only routes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from havip.service.accounts import Bootstrap

from .helpers import ERROR_FIELDS, Caller, Net

pytestmark = pytest.mark.integration

TENANT_EXAMPLES = int(os.environ.get("HAVIP_FUZZ_EXAMPLES", "8"))
EXAMPLES = {"tenant": TENANT_EXAMPLES, "operator": max(1, TENANT_EXAMPLES // 2)}
"""Cases per operation, generation mode and kind of path parameters (HAVIP_FUZZ_EXAMPLES for a longer hunt)."""


@dataclass
class Fuzzed:
    cases: int = 0
    unsatisfiable: int = 0
    failures: list[str] = field(default_factory=list)


def check(response: Any) -> None:
    """No server error; an error answer has exactly the error fields."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and set(body) == ERROR_FIELDS, f"{response.status_code}: {body}"
        assert body["request_id"] == response.headers["x-request-id"][0], body
        assert isinstance(body["code"], str) and body["code"], body
        assert isinstance(body["message"], str) and body["message"], body


def fuzz_operation(
    operation: Any, mode: GenerationMode, path: dict[str, Any] | None, token: str, examples: int, out: Fuzzed
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)
    failing: list[Any] = []

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )
    def send(case: Any) -> None:
        out.cases += 1
        response = case.call(headers=auth)
        try:
            check(response)
        except AssertionError:
            failing[:] = [case]
            raise

    try:
        send()
    except Unsatisfiable:  # nothing to generate, e.g. a negative case of an operation without parameters
        out.unsatisfiable += 1
    except AssertionError as exc:
        where = "known ids" if path else "generated ids"
        curl = failing[0].as_curl_command(headers=auth) if failing else ""
        out.failures.append(f"{operation.label} [{mode.value}, {where}]: {exc}\n    {curl}")


def known_ids(net: Net, tenant: Caller, operator: Caller, boot: Bootstrap) -> dict[str, str]:
    """A small cloud of account A; path parameter name -> the id of a real resource."""
    i1 = net.instance(tenant, host="h1", device="tap1")
    eni = tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet})
    havip = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100"})
    tenant.post(f"/v1/havips/{havip['id']}/members", {"member_type": "instance", "member_id": i1["id"]}, status=200)
    pool = operator.post("/v1/eip-pools", {"cidr": "203.0.113.0/28", "documentation_range": True})
    eip = tenant.post("/v1/eips", {})
    entry = tenant.post(
        f"/v1/route-tables/{net.route_table}/entries",
        {"destination": "192.168.0.0/24", "next_hop_type": "havip", "next_hop_id": havip["id"]},
    )
    key = operator.post(f"/v1/accounts/{boot.account.id}/keys", {})
    return {
        "account_id": boot.account.id,
        "vpc_id": net.vpc,
        "subnet_id": net.subnet,
        "table_id": net.route_table,
        "entry_id": entry["id"],
        "instance_id": i1["id"],
        "eni_id": eni["id"],
        "havip_id": havip["id"],
        "member_id": i1["id"],
        "pool_id": pool["id"],
        "eip_id": eip["id"],
        "host": "h1",
        "key_id": key["id"],  # a key of account A's own, not the one fuzzing
        "name": "havips_per_vpc",
    }


def fuzz(app: FastAPI, token: str, examples: int, ids: dict[str, str]) -> Fuzzed:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an Err raises
    operations.sort(key=lambda op: op.method.upper() == "DELETE")  # deletes last
    out = Fuzzed()
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        known = {n: ids[n] for n in names if n in ids} if names and all(n in ids for n in names) else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, None, token, examples, out)
            if known:
                fuzz_operation(operation, mode, known, token, examples, out)
    return out


@pytest.mark.parametrize("role", ["tenant", "operator"])
def test_fuzzed_requests_get_no_5xx_and_well_formed_errors(
    app: FastAPI,
    net: Net,
    tenant: Caller,
    operator: Caller,
    boot: Bootstrap,
    role: str,
) -> None:
    ids = known_ids(net, tenant, operator, boot)
    token = boot.tenant_token if role == "tenant" else boot.operator_token
    assert token is not None
    result = fuzz(app, token, EXAMPLES[role], ids)
    print(f"fuzzed {result.cases} cases ({result.unsatisfiable} runs with nothing to generate)")
    assert result.cases >= 200, f"only {result.cases} cases ran"
    assert not result.failures, f"{len(result.failures)} of the fuzzed operations failed:\n" + "\n".join(
        result.failures
    )
