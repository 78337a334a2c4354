"""The store itself on both engines: settings, snapshots, the write lock, the change feed.

Below the API: these tests open units of work on ``Store`` directly, so they can hold a
transaction open while another one runs.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from havip.domain import ids
from havip.domain.errors import InvalidParameter, Unavailable
from havip.domain.model import Account, Host, QuotaOverride, Vpc
from havip.store import Store
from havip.store.changes import PgListener

from . import pg
from .helpers import wait_until

pytestmark = pytest.mark.integration


def add_account(store: Store, name: str) -> None:
    with store.uow(write=True) as uow:
        uow.accounts.add(Account(id=ids.new_id("account"), name=name))
        uow.commit()


def count_accounts(store: Store) -> int:
    with store.uow() as uow:
        return uow.accounts.count()


def test_sqlite_runs_in_wal_mode_with_a_full_sync_at_each_commit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/d.db")
    try:
        store.migrate()
        with store.uow(write=True) as uow:
            session = uow.session
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: fsync at every commit
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    finally:
        store.dispose()


def test_a_read_sees_one_snapshot_and_a_write_sees_the_last_commit(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.migrate()
        add_account(store, "one")
        with store.uow() as reader:
            before = reader.accounts.count()
            add_account(store, "two")  # commits while the read is open
            assert reader.accounts.count() == before  # the read keeps its snapshot
        with store.uow(write=True) as writer:
            assert writer.accounts.count() == before + 1
    finally:
        store.dispose()


def test_a_writer_waits_for_the_lock_and_then_gives_up_as_unavailable(db_url: str) -> None:
    store = Store(db_url, lock_timeout=0.5)
    try:
        with store.uow(write=True):
            started = time.monotonic()
            with pytest.raises(Unavailable), store.uow(write=True):
                pass
            assert 0.4 < time.monotonic() - started < 10
        with store.uow(write=True) as uow:  # released with the first transaction
            uow.commit()
    finally:
        store.dispose()


def test_writers_queue_behind_the_lock_instead_of_failing(store: Store) -> None:
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.uow(write=True) as uow:
            uow.accounts.add(Account(id=ids.new_id("account"), name="first"))
            holding.set()
            release.wait(10)
            uow.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    second = threading.Thread(target=add_account, args=(store, "second"))
    second.start()
    second.join(timeout=0.3)
    assert second.is_alive(), "the second writer must wait for the lock"
    release.set()
    holder.join(10)
    second.join(10)
    assert count_accounts(store) == 2


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param({"region": "r" * 65}, "66 characters long|65 characters long", id="too-long"),
        pytest.param({"name": "a\x00b"}, "NUL", id="nul"),
    ],
)
def test_a_value_no_engine_keeps_is_refused_alike_and_nothing_is_written(
    store: Store, change: dict[str, str], why: str
) -> None:
    add_account(store, "owner")
    vpc = Vpc(id=ids.new_id("vpc"), account_id="acc", region="local", cidr="10.0.0.0/16", name="", description="")
    for key, value in change.items():
        setattr(vpc, key, value)
    with pytest.raises(InvalidParameter, match=why) as raised, store.uow(write=True) as uow:
        uow.vpcs.add(vpc)
        uow.commit()
    assert raised.value.code == "InvalidParameter.Unstorable"
    with store.uow() as uow:
        assert uow.vpcs.count() == 0


def test_an_integer_beyond_its_column_is_refused_alike(store: Store) -> None:
    with pytest.raises(InvalidParameter, match="32-bit"), store.uow(write=True) as uow:
        uow.quota_overrides.add(QuotaOverride(id=ids.new_id("quota"), account_id="acc", name="x", value=2**40))
        uow.commit()


# ---------------------------------------------------------------- the change feed


class Heard:
    """What the feed tells the subscribers of one host."""

    def __init__(self, store: Store, host_id: str, *, first: bool = True) -> None:
        self.revisions: list[int | None] = []
        self.unsubscribe = store.changes.subscribe(host_id, self.revisions.append)
        if first:  # the feed's source starts now, and says "look again" once it listens
            wait_until(lambda: None in self.revisions, timeout=10)


@pytest.fixture
def host_ids(store: Store) -> list[str]:
    """Two hosts, ``[touched, untouched]`` by ``bump``."""
    with store.uow(write=True) as uow:
        made = [Host(ids.new_id("host"), name, "r") for name in ("feed-1", "feed-2")]
        for h in made:
            uow.hosts.add(h)
        uow.commit()
    return [h.id for h in made]


def bump(store: Store, host_id: str, *, commit: bool = True) -> int:
    with store.uow(write=True) as uow:
        revision = uow.touch(host_ids=[host_id])
        if commit:
            uow.commit()
        return revision


def test_the_feed_names_committed_revisions_only(store: Store, host_ids: list[str]) -> None:
    heard = Heard(store, host_ids[0])
    try:
        start = bump(store, host_ids[0])
        wait_until(lambda: start in heard.revisions)
        rolled_back = bump(store, host_ids[0], commit=False)
        committed = bump(store, host_ids[0])
        assert committed == rolled_back  # the rolled back bump never happened
        wait_until(lambda: committed in heard.revisions)
        assert [r for r in heard.revisions if r is not None and r > start] == [committed]
        with store.uow() as uow:
            assert [h.revision for h in uow.hosts.find(id=host_ids, order_by="name")] == [committed, 0]
    finally:
        heard.unsubscribe()


def test_the_feed_names_only_the_hosts_touched(store: Store, host_ids: list[str]) -> None:
    touched, other = Heard(store, host_ids[0]), Heard(store, host_ids[1], first=False)
    try:
        first, second = bump(store, host_ids[0]), bump(store, host_ids[0])
        wait_until(lambda: second in touched.revisions)
        assert first in touched.revisions
        assert [r for r in other.revisions if r is not None] == []  # only "look again", never a revision
    finally:
        touched.unsubscribe()
        other.unsubscribe()


def test_the_feed_hears_another_store_on_the_same_database(db_url: str, store: Store, host_ids: list[str]) -> None:
    """Another process in effect: a second Store has its own engine, pool and feed."""
    other = Store(db_url)
    try:
        heard = Heard(store, host_ids[0])
        revision = bump(other, host_ids[0])
        wait_until(lambda: revision in heard.revisions, timeout=5)
        heard.unsubscribe()
    finally:
        other.dispose()


def test_an_unsubscribed_callback_hears_nothing_more(store: Store, host_ids: list[str]) -> None:
    heard = Heard(store, host_ids[0])
    first = bump(store, host_ids[0])
    wait_until(lambda: first in heard.revisions)
    heard.unsubscribe()
    bump(store, host_ids[0])
    late = Heard(store, host_ids[0], first=False)  # a second subscriber proves the next change was published
    second = bump(store, host_ids[0])
    wait_until(lambda: second in late.revisions)
    late.unsubscribe()
    assert second not in heard.revisions


def test_the_postgresql_listener_reconnects_and_catches_up(pg_database: str, pg_cluster: pg.PgCluster) -> None:
    store = Store(pg_database)
    try:
        with store.uow(write=True) as uow:
            uow.hosts.add(host := Host(ids.new_id("host"), "feed-pg", "r"))
            uow.commit()
        heard = Heard(store, host.id)
        listener = store.changes.source
        assert isinstance(listener, PgListener)
        wait_until(listener.connected.is_set)
        with pg_cluster.admin() as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND application_name = 'havip-listener'",
                (make_url(pg_database).database,),
            ).fetchone()
        assert killed is not None and killed[0] == 1
        looks = heard.revisions.count(None)
        bump(store, host.id)  # committed while the listener is down or reconnecting
        # on reconnect it tells everyone to look again: the long poll then reads its revision
        wait_until(lambda: heard.revisions.count(None) > looks, timeout=10)
        wait_until(listener.connected.is_set)
        after = bump(store, host.id)
        wait_until(lambda: after in heard.revisions, timeout=5)
        heard.unsubscribe()
    finally:
        store.dispose()


# ---------------------------------------------------------------- the test cluster itself


def test_missing_postgresql_binaries_fail_with_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg, "SEARCH", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HAVIP_PG_BINDIR", raising=False)
    with pytest.raises(pg.PostgresMissing, match="Install Debian's postgresql package"):
        pg.find_bindir()


def test_a_cluster_left_by_a_dead_test_run_is_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = Path(tempfile.mkdtemp(prefix=pg.PREFIX))
    (left / "owner").write_text(str(dead.pid))
    pg.sweep_stale()
    assert not left.exists()
