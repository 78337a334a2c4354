"""The in-memory store keeps the promises of the ports (service/ports.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

import pytest

from havip.domain.errors import Conflict
from havip.domain.model import Account, EventKind, HaVipEvent, Host, IpAllocation, NetworkInterface, QuotaOverride
from havip.service.fakes import TABLES, UNIQUE, FakeStore

pytestmark = pytest.mark.unit

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _accounts(store: FakeStore, *rows: tuple[str, str, int]) -> None:
    """Add accounts (id, name, minutes after T0)."""
    with store.uow(write=True) as uow:
        for ident, name, minutes in rows:
            uow.accounts.add(Account(ident, name, T0 + dt.timedelta(minutes=minutes)))
        uow.commit()


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    _accounts(s, ("acc-c", "cyan", 2), ("acc-a", "red", 1), ("acc-b", "blue", 1), ("acc-d", "green", 0))
    return s


def _ids(rows: list[Any]) -> list[str]:
    return [r.id for r in rows]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, ["acc-d", "acc-a", "acc-b", "acc-c"], id="default-created_at-ties-by-id"),
        pytest.param(
            {"order_by": "-created_at"}, ["acc-c", "acc-b", "acc-a", "acc-d"], id="descending-ties-by-id-desc"
        ),
        pytest.param({"order_by": "name"}, ["acc-b", "acc-c", "acc-d", "acc-a"], id="by-name"),
        pytest.param({"name": "blue"}, ["acc-b"], id="equality"),
        pytest.param({"name": ["red", "green"]}, ["acc-d", "acc-a"], id="list-means-in"),
        pytest.param({"name": ("red",)}, ["acc-a"], id="tuple-means-in"),
        pytest.param({"name": {"red", "green"}}, ["acc-d", "acc-a"], id="set-means-in"),
        pytest.param({"name": []}, [], id="empty-in-matches-nothing"),
        pytest.param({"name": "cyan", "id": "acc-c"}, ["acc-c"], id="filters-are-anded"),
        pytest.param({"name": "cyan", "id": "acc-a"}, [], id="filters-are-anded-none"),
        pytest.param({"limit": 2}, ["acc-d", "acc-a"], id="limit"),
        pytest.param({"limit": 2, "offset": 1}, ["acc-a", "acc-b"], id="limit-offset"),
        pytest.param({"offset": 3}, ["acc-c"], id="offset-only"),
        pytest.param({"offset": 9}, [], id="offset-past-end"),
    ],
)
def test_find(store: FakeStore, kwargs: dict[str, Any], expected: list[str]) -> None:
    with store.uow() as uow:
        assert _ids(uow.accounts.find(**kwargs)) == expected


def test_count_uses_the_same_filters(store: FakeStore) -> None:
    with store.uow() as uow:
        assert uow.accounts.count() == 4
        assert uow.accounts.count(name="blue") == 1
        assert uow.accounts.count(name=["blue", "red", "pink"]) == 2


def test_none_matches_null_only() -> None:
    store = FakeStore()
    with store.uow(write=True) as uow:
        uow.events.add(HaVipEvent("hve-1", "havip-1", "acc-1", EventKind.ASSOCIATED, T0, host_id=None))
        uow.events.add(HaVipEvent("hve-2", "havip-1", "acc-1", EventKind.ASSOCIATED, T0, host_id="host-1"))
        uow.commit()
    with store.uow() as uow:
        assert _ids(uow.events.find(host_id=None, order_by="at")) == ["hve-1"]
        assert _ids(uow.events.find(host_id=[None, "host-1"], order_by="at")) == ["hve-1", "hve-2"]
        assert _ids(uow.events.find(order_by="host_id")) == ["hve-1", "hve-2"]  # NULLs first


def test_enum_filter_matches_its_string_value() -> None:
    store = FakeStore()
    with store.uow(write=True) as uow:
        uow.events.add(HaVipEvent("hve-1", "havip-1", "acc-1", EventKind.HOLDER_CHANGED, T0))
        uow.commit()
    with store.uow() as uow:
        assert uow.events.count(kind="holder_changed") == 1
        assert uow.events.count(kind=EventKind.HOLDER_CHANGED) == 1


def test_default_order_falls_back_to_id_without_created_at() -> None:
    store = FakeStore()
    with store.uow(write=True) as uow:
        uow.quota_overrides.add(QuotaOverride("quota-b", "acc-1", "x", 1))
        uow.quota_overrides.add(QuotaOverride("quota-a", "acc-1", "y", 1))
        uow.commit()
    with store.uow() as uow:
        assert _ids(uow.quota_overrides.find()) == ["quota-a", "quota-b"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"colour": "blue"}, id="unknown-filter"),
        pytest.param({"order_by": "colour"}, id="unknown-order"),
        pytest.param({"order_by": "-colour"}, id="unknown-order-descending"),
    ],
)
def test_unknown_attribute_raises(store: FakeStore, kwargs: dict[str, Any]) -> None:
    with store.uow() as uow, pytest.raises(AttributeError):
        uow.accounts.find(**kwargs)


def test_committed_mutations_persist(store: FakeStore) -> None:
    with store.uow(write=True) as uow:
        acc = uow.accounts.get("acc-a")
        assert acc is not None
        acc.name = "renamed"
        assert uow.accounts.count(name="renamed") == 1  # visible inside the transaction
        uow.commit()
    with store.uow() as uow:
        again = uow.accounts.get("acc-a")
        assert again is not None
        assert again.name == "renamed"


def test_identity_within_a_unit_of_work(store: FakeStore) -> None:
    with store.uow() as uow:
        assert uow.accounts.get("acc-a") is uow.accounts.find(id="acc-a")[0]


@pytest.mark.parametrize(
    "end",
    [
        pytest.param("exit", id="exit-without-commit"),
        pytest.param("rollback", id="explicit-rollback"),
        pytest.param("error", id="exception"),
    ],
)
def test_uncommitted_changes_are_discarded(store: FakeStore, end: str) -> None:
    with pytest.raises(KeyError) if end == "error" else contextlib.nullcontext(), store.uow(write=True) as uow:
        acc = uow.accounts.get("acc-a")
        assert acc is not None
        acc.name = "renamed"
        uow.accounts.add(Account("acc-new", "new", T0))
        removed = uow.accounts.get("acc-b")
        assert removed is not None
        uow.accounts.remove(removed)
        uow.touch(all_hosts=True)
        if end == "rollback":
            uow.rollback()
            assert uow.accounts.count() == 4
        if end == "error":
            raise KeyError("boom")
    with store.uow() as uow:
        assert sorted(_ids(uow.accounts.find())) == ["acc-a", "acc-b", "acc-c", "acc-d"]
        assert uow.accounts.count(name="renamed") == 0
        assert uow.revision() == 0


def test_changes_after_commit_without_another_commit_are_discarded(store: FakeStore) -> None:
    with store.uow(write=True) as uow:
        uow.accounts.add(Account("acc-1", "one", T0))
        uow.commit()
        uow.accounts.add(Account("acc-2", "two", T0))
    with store.uow() as uow:
        assert uow.accounts.get("acc-1") is not None
        assert uow.accounts.get("acc-2") is None


def test_objects_are_detached_after_their_unit_of_work(store: FakeStore) -> None:
    with store.uow() as uow:
        acc = uow.accounts.get("acc-a")
    assert acc is not None
    acc.name = "changed outside"
    with store.uow() as uow:
        again = uow.accounts.get("acc-a")
        assert again is not None
        assert again.name == "red"


def test_readers_see_only_committed_state(store: FakeStore) -> None:
    with store.uow(write=True) as writer:
        writer.accounts.add(Account("acc-new", "new", T0))
        with store.uow() as reader:
            assert reader.accounts.get("acc-new") is None
        writer.commit()
        with store.uow() as reader:
            assert reader.accounts.get("acc-new") is not None


def test_revision() -> None:
    store = FakeStore()
    with store.uow(write=True) as uow:
        assert uow.revision() == 0
        assert uow.touch(all_hosts=True) == 1
        assert uow.touch(vpc_ids=["vpc-x"]) == 1  # one new revision per unit of work
        assert uow.revision() == 1
        uow.flush()
        uow.commit()
    assert store.revision == 1
    with store.uow() as uow:
        assert uow.revision() == 1


def test_touch_sets_the_revision_of_the_hosts_named_and_of_the_vpcs_hosts() -> None:
    store = FakeStore()
    with store.uow(write=True) as uow:
        for name in ("h1", "h2", "h3", "h4"):
            uow.hosts.add(Host(f"host-{name}", name, "r"))
        for n, (host, vpc) in enumerate([("h1", "vpc-a"), ("h2", "vpc-a"), ("h3", "vpc-b")]):
            uow.interfaces.add(
                NetworkInterface(
                    f"eni-{n}",
                    "acc",
                    "r",
                    vpc,
                    "vsw",
                    f"10.0.0.{n + 1}",
                    f"00:16:3e:00:00:0{n}",
                    host_id=f"host-{host}",
                )
            )
        uow.commit()
    with store.uow(write=True) as uow:
        assert uow.touch(vpc_ids=["vpc-a"], host_ids=["host-h4", "host-gone"]) == 1
        uow.commit()
    with store.uow() as uow:
        assert {h.name: h.revision for h in uow.hosts.find()} == {"h1": 1, "h2": 1, "h3": 0, "h4": 1}


def test_remove_then_get_is_none_and_count_drops(store: FakeStore) -> None:
    with store.uow(write=True) as uow:
        acc = uow.accounts.get("acc-a")
        assert acc is not None
        uow.accounts.remove(acc)
        assert uow.accounts.get("acc-a") is None
        assert uow.accounts.count() == 3


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda uow: uow.accounts.add(Account("acc-x", "x", T0)), id="add"),
        pytest.param(lambda uow: uow.accounts.remove(uow.accounts.get("acc-a")), id="remove"),
        pytest.param(lambda uow: uow.touch(all_hosts=True), id="touch"),
        pytest.param(lambda uow: uow.commit(), id="commit"),
    ],
)
def test_read_only_unit_of_work_refuses_writes(store: FakeStore, action: Any) -> None:
    with store.uow() as uow, pytest.raises(RuntimeError, match="read-only"):
        action(uow)


@pytest.mark.parametrize(
    ("action", "error"),
    [
        pytest.param(lambda uow: uow.accounts.add(Account("acc-a", "again", T0)), ValueError, id="duplicate-id"),
        pytest.param(lambda uow: uow.accounts.add(QuotaOverride("q", "a", "n", 1)), TypeError, id="wrong-type"),
        pytest.param(lambda uow: uow.accounts.remove(Account("acc-zz", "x", T0)), ValueError, id="remove-unknown"),
    ],
)
def test_repository_errors(store: FakeStore, action: Any, error: type[Exception]) -> None:
    with store.uow(write=True) as uow, pytest.raises(error):
        action(uow)


def test_nested_write_in_one_thread_raises_instead_of_deadlocking(store: FakeStore) -> None:
    with store.uow(write=True), pytest.raises(RuntimeError, match="already open"):
        store.uow(write=True).__enter__()
    with store.uow(write=True):  # the lock was released
        pass


def test_write_units_of_work_are_serialised() -> None:
    store = FakeStore()
    threads_n, rounds = 8, 25

    def worker(n: int) -> None:
        for i in range(rounds):
            with store.uow(write=True) as uow:
                used = {a.ip for a in uow.allocations.find(order_by="ip")}
                ip = f"10.0.{len(used) // 250}.{len(used) % 250}"
                assert ip not in used
                uow.allocations.add(IpAllocation(f"ipa-{n}-{i}", "vsw-1", ip, "havip", f"h-{n}-{i}"))
                uow.touch(all_hosts=True)
                uow.commit()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.uow() as uow:
        ips = [a.ip for a in uow.allocations.find(order_by="ip")]
    assert len(ips) == len(set(ips)) == threads_n * rounds
    assert store.revision == threads_n * rounds


def test_using_a_unit_of_work_outside_with_raises() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        FakeStore().uow().revision()


@pytest.mark.parametrize(
    ("rows", "clash"),
    [
        pytest.param(
            [
                IpAllocation("ipa-1", "vsw-1", "10.0.0.2", "havip", "h1"),
                IpAllocation("ipa-2", "vsw-1", "10.0.0.2", "havip", "h2"),
            ],
            True,
            id="same-address-same-subnet",
        ),
        pytest.param(
            [
                IpAllocation("ipa-1", "vsw-1", "10.0.0.2", "havip", "h1"),
                IpAllocation("ipa-2", "vsw-2", "10.0.0.2", "havip", "h2"),
            ],
            False,
            id="same-address-other-subnet",
        ),
        pytest.param(
            [
                NetworkInterface("eni-1", "a", "r", "v", "s", "10.0.0.2", "00:16:3e:00:00:01"),
                NetworkInterface("eni-2", "a", "r", "v", "s", "10.0.0.3", "00:16:3e:00:00:02"),
            ],
            False,
            id="null-host-and-device-never-collide",
        ),
        pytest.param(
            [
                NetworkInterface(
                    "eni-1", "a", "r", "v", "s", "10.0.0.2", "00:16:3e:00:00:01", host_id="h", device="t0"
                ),
                NetworkInterface(
                    "eni-2", "a", "r", "v", "s", "10.0.0.3", "00:16:3e:00:00:02", host_id="h", device="t0"
                ),
            ],
            True,
            id="same-device-on-one-host",
        ),
    ],
)
def test_unique_constraints_are_checked_at_commit(rows: list[Any], clash: bool) -> None:
    store = FakeStore()
    repo = "allocations" if isinstance(rows[0], IpAllocation) else "interfaces"
    with store.uow(write=True) as uow:
        for row in rows:
            getattr(uow, repo).add(row)
        if not clash:
            uow.commit()
            return
        with pytest.raises(Conflict) as info:
            uow.commit()
        assert info.value.code == "Conflict.Concurrent"
        assert getattr(uow, repo).count() == 0  # rolled back
    assert store.revision == 0


def test_unique_constraints_mirror_the_store() -> None:
    from sqlalchemy import UniqueConstraint

    from havip.store.tables import MAPPINGS

    by_class = {cls: name for name, cls in TABLES.items()}
    store: dict[str, set[tuple[str, ...]]] = {}
    for cls, table in MAPPINGS:
        found = {tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, UniqueConstraint)}
        found |= {(c.name,) for c in table.columns if c.unique}
        if found:
            store[by_class[cls]] = found
    assert {name: set(cols) for name, cols in UNIQUE.items()} == store
