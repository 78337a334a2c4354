"""Helpers shared by the use cases: idempotent creates and address bookkeeping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from havip.domain import ids, rules
from havip.domain.errors import InvalidParameter
from havip.domain.model import IdempotencyRecord, IpAllocation, Subnet
from havip.service.ports import Repository, UnitOfWork

T = TypeVar("T")

CLIENT_TOKEN_MAX = 64


def check_client_token(token: str | None) -> str | None:
    if token is None or token == "":
        return None
    if len(token) > CLIENT_TOKEN_MAX or not token.isascii() or not token.isprintable():
        raise InvalidParameter(
            f"client token must be at most {CLIENT_TOKEN_MAX} printable ASCII characters",
            code="InvalidClientToken.Malformed",
        )
    return token


def replay(
    uow: UnitOfWork,
    account_id: str,
    operation: str,
    token: str | None,
    repo: Repository[T],
    same: Mapping[str, object] | None = None,
) -> T | None:
    """The resource a previous create with the same client token made, if any.

    ``same`` holds this request's parameters as the resource's attributes (``None``
    values are left out: "allocate one" matches whatever was allocated). A token
    reused with other parameters is refused, as the clouds refuse it
    (``IdempotentParameterMismatch``), instead of answering with the first resource.
    """
    if token is None:
        return None
    found = uow.idempotency.find(account_id=account_id, operation=operation, token=token, limit=1)
    if not found:
        return None
    earlier = repo.get(found[0].resource_id)
    if earlier is not None and same:
        differs = sorted(k for k, v in same.items() if v is not None and getattr(earlier, k) != v)
        if differs:
            raise InvalidParameter(
                f"client token {token!r} was already used to create {found[0].resource_id} with other "
                "parameters; use a new token to create another resource",
                code="InvalidParameter.ClientToken",
            )
    return earlier


def remember(uow: UnitOfWork, account_id: str, operation: str, token: str | None, resource_id: str) -> None:
    if token is None:
        return
    found = uow.idempotency.find(account_id=account_id, operation=operation, token=token, limit=1)
    if found:  # its resource was deleted (``replay`` found none): the token now names the new one
        found[0].resource_id = resource_id
        return
    uow.idempotency.add(
        IdempotencyRecord(
            id=ids.new_id("idempotency"),
            account_id=account_id,
            token=token,
            operation=operation,
            resource_id=resource_id,
        )
    )


def group_by(rows: Iterable[T], key: Callable[[T], str | None]) -> dict[str, list[T]]:
    """Rows by ``key`` (rows whose key is None are left out), each group in the rows' order.

    How a use case answers for many resources from one query instead of one per resource.
    """
    grouped: dict[str, list[T]] = defaultdict(list)
    for row in rows:
        k = key(row)
        if k is not None:
            grouped[k].append(row)
    return dict(grouped)


def used_addresses(uow: UnitOfWork, subnet_id: str) -> set[str]:
    return {a.ip for a in uow.allocations.find(subnet_id=subnet_id, order_by="ip")}


def take_address(
    uow: UnitOfWork,
    subnet: Subnet,
    ip: str | None,
    owner_type: str,
    owner_id: str,
    what: str = "IP address",
    rule: rules.AddressRule = rules.NATIVE_ADDRESSES,
) -> str:
    """Check a given address (or allocate a free one) under ``rule`` and record it as taken."""
    used = used_addresses(uow, subnet.id)
    addr = rules.check_address(subnet, ip, used, what, rule) if ip else rules.allocate_address(subnet, used, rule)
    uow.allocations.add(
        IpAllocation(
            id=ids.new_id("allocation"), subnet_id=subnet.id, ip=addr, owner_type=owner_type, owner_id=owner_id
        )
    )
    return addr


def release_addresses(uow: UnitOfWork, owner_id: str, keep: Callable[[str], bool] = lambda _ip: False) -> None:
    for alloc in uow.allocations.find(owner_id=owner_id, order_by="ip"):
        if not keep(alloc.ip):
            uow.allocations.remove(alloc)
