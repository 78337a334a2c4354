"""The official Alibaba and Tencent SDKs against a live havip, for the compat tests.

A ``Server`` is the app under uvicorn on 127.0.0.1 (an ephemeral port), with regions
named as the clouds name them and a clock the tests can shift. ``start`` serves the
integration tier's ``store`` (every engine it is parametrized over: SQLite and
PostgreSQL) for one test; ``shared`` serves one SQLite store for a whole module and
``fresh`` gives each test its own new account there, so the many small tests (error
tables, credentials) pay for one server, not one each, and still share no state.

A ``CloudKit`` is one account's view: SDK clients configured with nothing but the
endpoint and the account's AccessKey, its tenant key on the native API for what the
clouds' compute APIs would do (instances, ENIs), the operator (EIP pools, quotas)
and an agent (to report who holds a VIP). ``ali`` and ``tc`` call an action by name
and return what the SDK parsed; ``ali_error`` and ``tc_error`` the SDK's exception.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_vpc20160428 import models as ali_models
from alibabacloud_vpc20160428.client import Client as AliClient
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import models as tc_models
from tencentcloud.vpc.v20170312 import vpc_client

from havip.api import create_app
from havip.api.compat.tencent import idmap
from havip.service.accounts import Bootstrap, bootstrap
from havip.service.context import Settings
from havip.store import Store

from .helpers import Caller, serve

ALI_REGION = "cn-hangzhou"
TC_REGION = "ap-guangzhou"
REGIONS = (ALI_REGION, TC_REGION)


class ShiftClock:
    """The server's clock: real time plus ``offset`` (to test the clock-skew checks)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def snake(action: str) -> str:
    """``DescribeHaVips`` -> ``describe_ha_vips``, as the Alibaba SDK names its methods."""
    out = ""
    for i, ch in enumerate(action):
        if ch.isupper() and i and (not action[i - 1].isupper() or (i + 1 < len(action) and action[i + 1].islower())):
            out += "_"
        out += ch.lower()
    return out.replace("v_switch", "vswitch")


@dataclass
class Server:
    """havip under uvicorn, its operator, and what the operator sets up once (host, EIP pools)."""

    base_url: str
    http: httpx.Client
    operator: Caller
    default_tenant: Caller
    clock: ShiftClock
    _agent: tuple[str, Caller] | None = None
    _pools: set[str] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return self.base_url.removeprefix("http://")

    def host(self) -> tuple[str, Caller]:
        """Host h1 and its agent (created on first use)."""
        if self._agent is None:
            created = self.operator.post("/v1/hosts", {"name": "h1"})
            self._agent = (created["host"]["id"], Caller(self.http, created["agent_key"]["token"]))
        return self._agent

    def eip_pool(self, region: str) -> None:
        """An EIP pool in ``region`` (once per server)."""
        if region not in self._pools:
            cidr = {ALI_REGION: "203.0.113.0/24", TC_REGION: "198.51.100.0/24"}[region]
            self.operator.post("/v1/eip-pools", {"cidr": cidr, "region": region, "documentation_range": True})
            self._pools.add(region)

    def account(self, tenant: Caller | None = None) -> CloudKit:
        """An AccessKey of ``tenant``'s account, or of a new account (so tests share a server, not state)."""
        if tenant is None:
            made = self.operator.post("/v1/accounts", {"name": f"acc-{uuid.uuid4().hex[:12]}"})
            tenant = Caller(self.http, made["key"]["token"])
        key = tenant.post("/v1/access-keys", {"description": "compat tests"})
        return CloudKit(self, tenant, key["account_id"], key["id"], key["secret"])


@dataclass
class CloudKit:
    """One account's view: the SDKs with its AccessKey, and its tenant key on the native API."""

    server: Server
    tenant: Caller
    account_id: str
    key_id: str
    secret: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def http(self) -> httpx.Client:
        return self.server.http

    @property
    def operator(self) -> Caller:
        return self.server.operator

    @property
    def clock(self) -> ShiftClock:
        return self.server.clock

    # ------------------------------------------------------------ Alibaba

    def aliyun(self, *, key_id: str | None = None, secret: str | None = None, v2: bool = False) -> AliClient:
        config = open_api_models.Config(
            access_key_id=key_id or self.key_id,
            access_key_secret=secret or self.secret,
            region_id=ALI_REGION,
            endpoint=self.endpoint,
            protocol="http",
        )
        if v2:
            config.signature_algorithm = "v2"
        return AliClient(config)

    def ali(self, action: str, client: AliClient | None = None, **params: Any) -> Any:
        """Call one Alibaba action with the SDK; returns the parsed body (a model)."""
        params.setdefault("region_id", ALI_REGION)
        request = getattr(ali_models, f"{action}Request")(**params)
        response = getattr(client or self.aliyun(), snake(action))(request)
        assert response.status_code == 200
        return response.body

    def ali_error(self, action: str, client: AliClient | None = None, **params: Any) -> AlibabaCloudException:
        with pytest.raises(AlibabaCloudException) as info:
            self.ali(action, client, **params)
        return info.value

    # ------------------------------------------------------------ Tencent

    def tencent(
        self,
        *,
        key_id: str | None = None,
        secret: str | None = None,
        sign_method: str | None = None,
        method: str = "POST",
    ) -> vpc_client.VpcClient:
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=self.endpoint, protocol="http", reqMethod=method))
        if sign_method:
            profile.signMethod = sign_method
        return vpc_client.VpcClient(
            credential.Credential(key_id or self.key_id, secret or self.secret), TC_REGION, profile
        )

    def tc(self, action: str, params: dict[str, Any] | None = None, client: vpc_client.VpcClient | None = None) -> Any:
        """Call one Tencent action with the SDK; returns the parsed response (a model)."""
        request = getattr(tc_models, f"{action}Request")()
        request.from_json_string(json.dumps(params or {}))
        return getattr(client or self.tencent(), action)(request)

    def tc_error(
        self, action: str, params: dict[str, Any] | None = None, client: vpc_client.VpcClient | None = None
    ) -> TencentCloudSDKException:
        with pytest.raises(TencentCloudSDKException) as info:
            self.tc(action, params, client)
        return info.value

    # ------------------------------------------------------------ the native API

    def instance(self, subnet_id: str, ip: str | None = None) -> tuple[str, str]:
        """An instance on host h1 (the clouds' compute API): (instance id, its ENI id)."""
        host, _ = self.server.host()
        body = {"subnet_id": idmap.stored_id(subnet_id), "host": host, "device": f"t{uuid.uuid4().hex[:12]}"}
        body |= {"primary_ip": ip} if ip else {}
        made = self.tenant.post("/v1/instances", body)
        return made["id"], made["network_interfaces"][0]["id"]

    def tc_instance(self, subnet_id: str, ip: str | None = None) -> tuple[str, str]:
        """``instance`` as the Tencent facade names it (``ins-…``, the ENI's id is the same)."""
        instance_id, eni_id = self.instance(subnet_id, ip)
        return idmap.tencent_id(instance_id), eni_id

    def eni(self, subnet_id: str) -> str:
        made = self.tenant.post("/v1/network-interfaces", {"subnet_id": idmap.stored_id(subnet_id)})
        return str(made["id"])

    def claim(self, havip_id: str, eni_id: str) -> None:
        """The member with ``eni_id`` announced the VIP (as its host's agent reports it)."""
        host, agent = self.server.host()
        at = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        body = {"havip_id": havip_id, "interface_id": eni_id, "kind": "claim", "at": at}
        agent.post(f"/v1/hosts/{host}/reports", body, status=200)

    def eip_pool(self, region: str) -> None:
        self.server.eip_pool(region)

    def quota(self, name: str, value: int) -> None:
        """Set one quota of this account (as the operator)."""
        self.operator.ok("PUT", f"/v1/quotas/{self.account_id}/{name}", json={"value": value})


def serve_store(store: Store, boot: Bootstrap) -> Iterator[Server]:
    clock = ShiftClock()
    settings = Settings(regions=REGIONS, default_region=ALI_REGION)
    app = create_app(store.uow, settings, clock=clock, changes=store.changes)
    with pytest.MonkeyPatch.context() as env, serve(app) as live, live.client() as http:
        # both SDKs honour proxy variables; these tests talk to 127.0.0.1 only
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.delenv(name, raising=False)
        env.setenv("NO_PROXY", "127.0.0.1")
        env.setenv("no_proxy", "127.0.0.1")
        yield Server(live.base_url, http, Caller(http, boot.operator_token), Caller(http, boot.tenant_token), clock)


def start(store: Store, boot: Bootstrap) -> Iterator[CloudKit]:
    """A server on the tier's store (every engine), and the default account's AccessKey."""
    for server in serve_store(store, boot):
        yield server.account(server.default_tenant)


def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on a SQLite store for a whole module; each test takes its own account."""
    store = Store("sqlite:///" + str(tmp_path_factory.mktemp("compat") / "compat.db"))
    store.migrate()
    try:
        yield from serve_store(store, bootstrap(store.uow))
    finally:
        store.dispose()


def fresh(server: Server) -> Iterator[CloudKit]:
    """A new account on a shared server; the server's clock is put right afterwards."""
    try:
        yield server.account()
    finally:
        server.clock.offset = dt.timedelta()
