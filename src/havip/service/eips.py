"""EIP pools (operator) and EIPs (tenants), associated with a HaVip or an interface.

Pool addresses are recorded as ``IpAllocation`` rows keyed by the pool's id, so the
store's uniqueness of (space, ip) keeps one public address with one owner.
"""

from __future__ import annotations

from havip.domain import eips as eip_rules
from havip.domain import ids, rules
from havip.domain.dependencies import Deletable, Dependent, check_deletable
from havip.domain.eips import EipTarget
from havip.domain.errors import Conflict, NotFound
from havip.domain.model import Eip, EipPool, IpAllocation
from havip.domain.quotas import Quota
from havip.service.accounts import limit_of
from havip.service.common import check_client_token, release_addresses, remember, replay, used_addresses
from havip.service.context import Ctx, Page, acting_account, check_region, get_owned, require_operator, scope_filters
from havip.service.ports import UnitOfWork


def create_pool(
    ctx: Ctx, *, cidr: str, name: str = "", region: str | None = None, documentation_range: bool = False
) -> EipPool:
    require_operator(ctx)
    rules.check_name(name)
    region = check_region(ctx, region)
    with ctx.uow(write=True) as uow:
        cidr = rules.check_pool_cidr(cidr, [p.cidr for p in uow.eip_pools.find()], documentation_range)
        pool = EipPool(ids.new_id("eip_pool"), region, cidr, name, ctx.now())
        uow.eip_pools.add(pool)
        uow.commit()
        return pool


def list_pools(ctx: Ctx, page: Page) -> tuple[list[EipPool], int]:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return uow.eip_pools.find(limit=page.limit, offset=page.offset), uow.eip_pools.count()


def delete_pool(ctx: Ctx, pool_id: str) -> None:
    require_operator(ctx)
    with ctx.uow(write=True) as uow:
        pool = uow.eip_pools.get(pool_id)
        if pool is None:
            raise NotFound("EipPool", pool_id)
        check_deletable(Deletable.EIP_POOL, pool.id, {Dependent.EIPS: uow.eips.count(pool_id=pool.id)})
        uow.eip_pools.remove(pool)
        uow.commit()


def allocate(
    ctx: Ctx,
    *,
    region: str | None = None,
    pool_id: str | None = None,
    name: str = "",
    account_id: str | None = None,
    client_token: str | None = None,
) -> Eip:
    acc = acting_account(ctx, account_id)
    region = check_region(ctx, region)
    rules.check_name(name)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        if (
            again := replay(uow, acc, "allocate_eip", token, uow.eips, dict(region=region, name=name, pool_id=pool_id))
        ) is not None:
            return again
        pools = [uow.eip_pools.get(pool_id)] if pool_id else uow.eip_pools.find(region=region)
        for pool in pools:
            if pool is None:
                raise NotFound("EipPool", str(pool_id))
            used = used_addresses(uow, pool.id)
            free = rules.free_pool_address(pool.cidr, used)
            if free is None:
                continue
            eip = Eip(ids.new_id("eip"), acc, pool.region, pool.id, free, name, created_at=ctx.now())
            uow.allocations.add(IpAllocation(ids.new_id("allocation"), pool.id, free, "eip", eip.id))
            uow.eips.add(eip)
            remember(uow, acc, "allocate_eip", token, eip.id)
            uow.commit()
            return eip
        raise Conflict(f"no EIP pool in region {region} has a free address", code="InsufficientEipAddresses")


def list_eips(
    ctx: Ctx, page: Page, account_id: str | None = None, havip_id: str | None = None
) -> tuple[list[Eip], int]:
    f = scope_filters(ctx, account_id)
    if havip_id:
        f["havip_id"] = havip_id
    with ctx.uow() as uow:
        return uow.eips.find(limit=page.limit, offset=page.offset, **f), uow.eips.count(**f)


def get_eip(ctx: Ctx, eip_id: str) -> Eip:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return get_owned(ctx, uow.eips, "Eip", eip_id)


def associate(ctx: Ctx, eip_id: str, *, havip_id: str | None = None, network_interface_id: str | None = None) -> Eip:
    scope_filters(ctx)
    target = eip_rules.target_of(havip_id, network_interface_id)
    with ctx.uow(write=True) as uow:
        eip = get_owned(ctx, uow.eips, "Eip", eip_id)
        eip_rules.check_associable(eip)
        if target is EipTarget.HAVIP:
            assert havip_id is not None
            havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
            eip_rules.check_havip_target(
                eip,
                havip,
                eips_of_havip=uow.eips.count(havip_id=havip.id),
                limit=limit_of(uow, havip.account_id, Quota.EIPS_PER_HAVIP),
            )
            eip.havip_id = havip.id
            vpc_id = havip.vpc_id
        else:
            assert network_interface_id is not None
            eni = get_owned(ctx, uow.interfaces, "NetworkInterface", network_interface_id)
            eip_rules.check_interface_target(eip, eni, eips_of_interface=uow.eips.count(network_interface_id=eni.id))
            eip.network_interface_id = eni.id
            vpc_id = eni.vpc_id
        uow.touch(vpc_ids=[vpc_id])
        uow.commit()
        return eip


def unassociate(ctx: Ctx, eip_id: str) -> Eip:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        eip = get_owned(ctx, uow.eips, "Eip", eip_id)
        eip_rules.check_unassociable(eip)
        uow.touch(vpc_ids=_vpcs_of(uow, eip))
        eip.havip_id = eip.network_interface_id = None
        uow.commit()
        return eip


def _vpcs_of(uow: UnitOfWork, eip: Eip) -> list[str]:
    """The VPC of what ``eip`` is associated with (whose hosts translate it)."""
    havip = uow.havips.get(eip.havip_id) if eip.havip_id else None
    eni = uow.interfaces.get(eip.network_interface_id) if eip.network_interface_id else None
    return [t.vpc_id for t in (havip, eni) if t is not None]


def release(ctx: Ctx, eip_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        eip = get_owned(ctx, uow.eips, "Eip", eip_id)
        check_deletable(Deletable.EIP, eip.id, {Dependent.ASSOCIATIONS: int(eip.associated)})
        release_addresses(uow, eip.id)
        uow.eips.remove(eip)
        uow.commit()
