"""Builders for service tests: a stepping clock and a bootstrapped in-memory cloud."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from havip.domain.model import BindingMode, Host, Instance, NetworkInterface, Subnet, Vpc
from havip.service import accounts, compute, havips, network
from havip.service.compute import Placement
from havip.service.context import Ctx, Principal
from havip.service.fakes import TABLES, FakeStore

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class StepClock:
    """A clock that moves forward by ``step`` every time it is read."""

    def __init__(self, start: dt.datetime = T0, step: dt.timedelta = dt.timedelta(seconds=1)) -> None:
        self.current = start
        self.step = step

    def __call__(self) -> dt.datetime:
        self.current += self.step
        return self.current


class Cloud:
    """A bootstrapped store with an operator, the default tenant, and builders of resources.

    Builders act as the default tenant unless given another ``ctx``.
    """

    def __init__(self) -> None:
        self.store = FakeStore()
        self.clock = StepClock()
        boot = accounts.bootstrap(self.store.uow)
        assert boot.operator_token and boot.tenant_token
        self.account_id = boot.account.id
        self.operator = self.ctx(accounts.authenticate(self.store.uow, boot.operator_token))
        self.tenant = self.ctx(accounts.authenticate(self.store.uow, boot.tenant_token))

    def ctx(self, principal: Principal) -> Ctx:
        return Ctx(uow=self.store.uow, principal=principal, clock=self.clock)

    def other_tenant(self, name: str = "other") -> Ctx:
        _, key = accounts.create_account(self.operator, name)
        return self.ctx(accounts.authenticate(self.store.uow, key.token))

    def host(self, name: str, underlay: str | None = None) -> tuple[Host, Ctx]:
        """A host and its agent's context."""
        host, key = compute.create_host(self.operator, name=name, underlay=underlay)
        return host, self.ctx(accounts.authenticate(self.store.uow, key.token))

    def set_quota(self, name: str, value: int, account_id: str | None = None) -> None:
        accounts.set_quota(self.operator, account_id or self.account_id, name, value)

    def vpc(self, cidr: str = "172.17.0.0/16", ctx: Ctx | None = None) -> Vpc:
        return network.create_vpc(ctx or self.tenant, cidr=cidr)

    def subnet(self, vpc: Vpc, cidr: str = "172.17.16.0/24", ctx: Ctx | None = None) -> Subnet:
        return network.create_subnet(ctx or self.tenant, vpc_id=vpc.id, cidr=cidr)

    def network(self, ctx: Ctx | None = None, vpc_cidr: str = "172.17.0.0/16") -> Subnet:
        """A VPC with one /24 subnet at its start."""
        vpc = self.vpc(vpc_cidr, ctx)
        return self.subnet(vpc, vpc_cidr.replace(".0.0/16", ".16.0/24"), ctx)

    def instance(
        self, subnet: Subnet, host: Host | None = None, ip: str | None = None, ctx: Ctx | None = None
    ) -> tuple[Instance, NetworkInterface]:
        placement = Placement(host=host.id) if host else Placement()
        return compute.create_instance(ctx or self.tenant, subnet_id=subnet.id, primary_ip=ip, placement=placement)

    def eni(self, subnet: Subnet, host: Host | None = None, ctx: Ctx | None = None) -> NetworkInterface:
        placement = Placement(host=host.id) if host else Placement()
        return compute.create_interface(ctx or self.tenant, subnet_id=subnet.id, placement=placement)

    def havip(
        self,
        subnet: Subnet,
        ip: str | None = None,
        mode: BindingMode = BindingMode.EXPLICIT,
        ctx: Ctx | None = None,
    ) -> havips.HaVipView:
        return havips.create_havip(ctx or self.tenant, subnet_id=subnet.id, ip=ip, binding_mode=mode)

    def counts(self) -> Counter[str]:
        """How many rows of each kind the store holds."""
        with self.store.uow() as uow:
            return Counter({name: getattr(uow, name).count() for name in TABLES})
