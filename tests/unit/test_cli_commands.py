"""Every ``havip`` command against a fake server: the request it makes, with which key.

One table row per command form: the arguments, the request the fake server must
see (method, path, query, body), the credential it must carry (the tenant key of
the credentials file, or its operator key) and a word the output must show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from havip.cli.names import ID_PREFIX
from havip.client.client import Collection

from .cli_harness import OPERATOR, TENANT, run, token_of
from .fake_api import FakeApi, page

pytestmark = pytest.mark.unit

ALL = {"limit": "1000", "offset": "0"}  # the first page a list asks for
ITEM = {"id": "res-1", "name": "demo", "status": "Available"}


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    token: str = TENANT
    shows: str = "res-1"
    answer: Any = "default"

    def reply(self) -> Any:
        if self.answer != "default":
            return self.answer
        if self.method == "DELETE":
            return None
        return page([ITEM]) if self.method == "GET" and "limit" in self.params else ITEM


# fmt: off
LISTS = [
    Case("vpc", ("vpc", "list", "--region", "local"), "GET", "/v1/vpcs", {"region": "local", **ALL}),
    Case("vpc-other-account", ("vpc", "list", "--account", "acc-2"), "GET", "/v1/vpcs",
         {"account_id": "acc-2", **ALL}, token=OPERATOR),
    Case("vpc-own-account", ("vpc", "list", "--account", "acc-default"), "GET", "/v1/vpcs",
         {"account_id": "acc-default", **ALL}),
    Case("vpc-limit", ("vpc", "list", "--limit", "5"), "GET", "/v1/vpcs", {"limit": "5", "offset": "0"}),
    Case("subnet", ("subnet", "list", "--vpc", "vpc-1"), "GET", "/v1/subnets", {"vpc_id": "vpc-1", **ALL}),
    Case("instance", ("instance", "list", "--vpc", "vpc-1", "--subnet", "vsw-1"), "GET", "/v1/instances",
         {"vpc_id": "vpc-1", "subnet_id": "vsw-1", **ALL}),
    Case("eni", ("eni", "list", "--subnet", "vsw-1", "--instance", "i-1"), "GET", "/v1/network-interfaces",
         {"subnet_id": "vsw-1", "instance_id": "i-1", **ALL}),
    Case("havip", ("havip", "list", "--vpc", "vpc-1", "--status", "InUse", "--ip", "172.17.16.3", "--name", "web"),
         "GET", "/v1/havips", {"vpc_id": "vpc-1", "status": "InUse", "ip": "172.17.16.3", "name": "web", **ALL}),
    Case("eip-pool", ("eip-pool", "list"), "GET", "/v1/eip-pools", ALL),
    Case("eip", ("eip", "list", "--havip", "havip-1"), "GET", "/v1/eips", {"havip_id": "havip-1", **ALL}),
    Case("route-table", ("route-table", "list", "--vpc", "vpc-1"), "GET", "/v1/route-tables",
         {"vpc_id": "vpc-1", **ALL}),
    Case("route-entry", ("route-entry", "list", "vtb-1"), "GET", "/v1/route-tables/vtb-1/entries", ALL),
    Case("host", ("host", "list"), "GET", "/v1/hosts", ALL, token=OPERATOR),
    Case("account", ("account", "list"), "GET", "/v1/accounts", ALL, token=OPERATOR),
    Case("havip-events", ("havip", "events", "havip-1", "--kind", "holder_changed", "--limit", "5"), "GET",
         "/v1/havips/havip-1/events", {"kind": "holder_changed", "limit": "5", "offset": "0"},
         answer=page([{"id": "ev-1", "kind": "holder_changed", "interface_id": "eni-7"}]), shows="eni-7"),
    Case("quota", ("quota", "list"), "GET", "/v1/quotas", answer={"items": [{"name": "havips_per_account"}]},
         shows="havips_per_account"),
    Case("quota-other-account", ("quota", "list", "--account", "acc-2"), "GET", "/v1/quotas",
         {"account_id": "acc-2"}, token=OPERATOR, answer={"items": [{"name": "x"}]}, shows="x"),
]

SHOWS = [
    Case(noun, (noun, "show", f"{ID_PREFIX[collection]}-1"), "GET", f"/v1/{collection}/{ID_PREFIX[collection]}-1",
         token=token)
    for noun, collection, token in cast(list[tuple[str, Collection, str]], [
        ("vpc", "vpcs", TENANT),
        ("subnet", "subnets", TENANT),
        ("instance", "instances", TENANT),
        ("eni", "network-interfaces", TENANT),
        ("havip", "havips", TENANT),
        ("eip", "eips", TENANT),
        ("route-table", "route-tables", TENANT),
        ("host", "hosts", OPERATOR),
        ("account", "accounts", OPERATOR),
    ])
]

DELETES = [
    Case(f"{noun}-{verb}", (noun, verb, ident), "DELETE", f"/v1/{collection}/{ident}", token=token,
         shows=f"{said} {ident}")
    for noun, verb, collection, ident, token, said in [
        ("vpc", "delete", "vpcs", "vpc-1", TENANT, "deleted VPC"),
        ("subnet", "delete", "subnets", "vsw-1", TENANT, "deleted subnet"),
        ("instance", "delete", "instances", "i-1", TENANT, "deleted instance"),
        ("eni", "delete", "network-interfaces", "eni-1", TENANT, "deleted network interface"),
        ("havip", "delete", "havips", "havip-1", TENANT, "deleted HaVip"),
        ("host", "delete", "hosts", "host-1", OPERATOR, "deleted host"),
        ("eip-pool", "delete", "eip-pools", "eippool-1", OPERATOR, "deleted EIP pool"),
        ("eip", "release", "eips", "eip-1", TENANT, "released EIP"),
    ]
] + [
    Case("route-entry", ("route-entry", "delete", "vtb-1", "rte-1"), "DELETE", "/v1/route-tables/vtb-1/entries/rte-1",
         shows="deleted route entry rte-1"),
    Case("key-revoke", ("account", "key-revoke", "key-9"), "DELETE", "/v1/keys/key-9", token=OPERATOR,
         shows="revoked key key-9"),
]

CREATES = [
    Case("vpc", ("vpc", "create", "--cidr", "172.17.0.0/16", "--name", "demo"), "POST", "/v1/vpcs",
         body={"cidr": "172.17.0.0/16", "name": "demo"}),
    Case("vpc-for-account", ("vpc", "create", "--cidr", "172.17.0.0/16", "--account", "acc-2"), "POST", "/v1/vpcs",
         body={"cidr": "172.17.0.0/16", "account_id": "acc-2"}, token=OPERATOR),
    Case("subnet", ("subnet", "create", "--vpc", "vpc-1", "--cidr", "172.17.16.0/24", "--zone", "z1"), "POST",
         "/v1/subnets", body={"vpc_id": "vpc-1", "cidr": "172.17.16.0/24", "zone": "z1"}),
    Case("instance",
         ("instance", "create", "--subnet", "vsw-1", "--ip", "172.17.16.7", "--mac", "02:00:00:00:00:07",
          "--host", "h1", "--device", "veth7", "--name", "i1", "--client-token", "t-1"),
         "POST", "/v1/instances",
         body={"subnet_id": "vsw-1", "primary_ip": "172.17.16.7", "mac": "02:00:00:00:00:07", "host": "h1",
               "device": "veth7", "name": "i1", "client_token": "t-1"}),
    Case("eni",
         ("eni", "create", "--subnet", "vsw-1", "--ip", "172.17.16.8", "--secondary-ip", "172.17.16.9",
          "--secondary-ip", "172.17.16.10", "--instance", "i-1"),
         "POST", "/v1/network-interfaces",
         body={"subnet_id": "vsw-1", "primary_ip": "172.17.16.8", "secondary_ips": ["172.17.16.9", "172.17.16.10"],
               "instance_id": "i-1"}),
    Case("havip",
         ("havip", "create", "--subnet", "vsw-1", "--ip", "172.17.16.3", "--binding-mode", "subnet", "--name", "web"),
         "POST", "/v1/havips",
         body={"subnet_id": "vsw-1", "ip": "172.17.16.3", "binding_mode": "subnet", "name": "web"}),
    Case("eip-pool", ("eip-pool", "create", "--cidr", "203.0.113.0/28"), "POST", "/v1/eip-pools",
         body={"cidr": "203.0.113.0/28"}, token=OPERATOR),
    Case("eip-pool-lab", ("eip-pool", "create", "--cidr", "203.0.113.0/28", "--documentation-range"), "POST",
         "/v1/eip-pools", body={"cidr": "203.0.113.0/28", "documentation_range": True}, token=OPERATOR),
    Case("eip", ("eip", "allocate", "--pool", "eippool-1", "--name", "e1"), "POST", "/v1/eips",
         body={"pool_id": "eippool-1", "name": "e1"}),
    Case("route-entry-havip",
         ("route-entry", "create", "vtb-1", "--destination", "10.0.0.0/8", "--havip", "havip-1"),
         "POST", "/v1/route-tables/vtb-1/entries",
         body={"destination": "10.0.0.0/8", "next_hop_type": "havip", "next_hop_id": "havip-1"}),
    Case("route-entry-eni",
         ("route-entry", "create", "vtb-1", "--destination", "10.0.0.0/8", "--eni", "eni-1"),
         "POST", "/v1/route-tables/vtb-1/entries",
         body={"destination": "10.0.0.0/8", "next_hop_type": "network_interface", "next_hop_id": "eni-1"}),
    Case("host", ("host", "create", "h1", "--region", "r1"), "POST", "/v1/hosts", body={"name": "h1", "region": "r1"},
         token=OPERATOR, answer={"host": ITEM, "agent_key": {"id": "key-a", "token": "key-a.agent-secret"}},
         shows="key-a.agent-secret"),
    Case("host-underlay", ("host", "create", "h2", "--underlay", "192.0.2.12"), "POST", "/v1/hosts",
         body={"name": "h2", "underlay": "192.0.2.12"}, token=OPERATOR,
         answer={"host": {**ITEM, "underlay": "192.0.2.12"}, "agent_key": {"id": "key-b", "token": "key-b.secret"}},
         shows="192.0.2.12"),
    Case("account", ("account", "create", "team-a"), "POST", "/v1/accounts", body={"name": "team-a"},
         token=OPERATOR, answer={"account": ITEM, "key": {"id": "key-t", "token": "key-t.team-secret"}},
         shows="key-t.team-secret"),
    Case("account-key", ("account", "key-create", "acc-2", "--description", "ci"), "POST", "/v1/accounts/acc-2/keys",
         body={"description": "ci"}, token=OPERATOR, answer={"id": "key-c", "token": "key-c.ci-secret"},
         shows="key-c.ci-secret"),
]

UPDATES = [
    Case("vpc", ("vpc", "update", "vpc-1", "--name", "x"), "PATCH", "/v1/vpcs/vpc-1", body={"name": "x"}),
    Case("subnet", ("subnet", "update", "vsw-1", "--description", "d"), "PATCH", "/v1/subnets/vsw-1",
         body={"description": "d"}),
    Case("instance", ("instance", "update", "i-1", "--name", "i9"), "PATCH", "/v1/instances/i-1",
         body={"name": "i9"}),
    Case("eni", ("eni", "update", "eni-1", "--host", "h2", "--device", "tap0", "--secondary-ip", "172.17.16.20"),
         "PATCH", "/v1/network-interfaces/eni-1",
         body={"host": "h2", "device": "tap0", "secondary_ips": ["172.17.16.20"]}),
    Case("havip", ("havip", "update", "havip-1", "--binding-mode", "explicit"), "PATCH", "/v1/havips/havip-1",
         body={"binding_mode": "explicit"}),
    Case("host", ("host", "update", "h1", "--underlay", "192.0.2.11"), "PATCH", "/v1/hosts/h1",
         body={"underlay": "192.0.2.11"}, token=OPERATOR, answer={**ITEM, "underlay": "192.0.2.11"},
         shows="192.0.2.11"),
    Case("host-no-underlay", ("host", "update", "h1", "--underlay", ""), "PATCH", "/v1/hosts/h1",
         body={"underlay": ""}, token=OPERATOR),
]

ACTIONS = [
    Case("associate-instance", ("havip", "associate", "havip-1", "--instance", "i-1"), "POST",
         "/v1/havips/havip-1/members", body={"member_type": "instance", "member_id": "i-1"}),
    Case("associate-eni", ("havip", "associate", "havip-1", "--eni", "eni-1"), "POST", "/v1/havips/havip-1/members",
         body={"member_type": "network_interface", "member_id": "eni-1"}),
    Case("unassociate", ("havip", "unassociate", "havip-1", "--eni", "eni-1"), "DELETE",
         "/v1/havips/havip-1/members/eni-1", answer=ITEM),
    Case("unassociate-force", ("havip", "unassociate", "havip-1", "--instance", "i-1", "--force"), "DELETE",
         "/v1/havips/havip-1/members/i-1", {"force": "true"}, answer=ITEM),
    Case("eip-associate-havip", ("eip", "associate", "eip-1", "--havip", "havip-1"), "POST",
         "/v1/eips/eip-1/associate", body={"havip_id": "havip-1"}),
    Case("eip-associate-eni", ("eip", "associate", "eip-1", "--eni", "eni-1"), "POST", "/v1/eips/eip-1/associate",
         body={"network_interface_id": "eni-1"}),
    Case("eip-unassociate", ("eip", "unassociate", "eip-1"), "POST", "/v1/eips/eip-1/unassociate"),
    Case("quota-set", ("quota", "set", "havips_per_account", "10"), "PUT", "/v1/quotas/acc-default/havips_per_account",
         body={"value": 10}, token=OPERATOR, answer={"name": "havips_per_account", "value": 10},
         shows="havips_per_account"),
    Case("quota-set-account", ("quota", "set", "members_per_havip", "3", "--account", "acc-2"), "PUT",
         "/v1/quotas/acc-2/members_per_havip", body={"value": 3}, token=OPERATOR,
         answer={"name": "members_per_havip", "value": 3}, shows="acc-2"),
]
# fmt: on

GROUPS = {"list": LISTS, "show": SHOWS, "delete": DELETES, "create": CREATES, "update": UPDATES, "action": ACTIONS}
CASES = [pytest.param(case, id=f"{group}:{case.id}") for group, cases in GROUPS.items() for case in cases]


@pytest.mark.parametrize("case", CASES)
def test_command_sends_one_request(case: Case, tmp_path: Path) -> None:
    api = FakeApi({(case.method, case.path): case.reply()})
    result = run(api, *case.args, home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert api.calls() == [(case.method, case.path)]
    assert (api.last.params, api.last.body) == (case.params, case.body)
    assert token_of(api) == case.token
    assert case.shows in result.stdout
