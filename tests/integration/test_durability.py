"""``havip serve`` killed with SIGKILL in the middle of a stream of writes, on both engines.

Writers in threads create instances and HaVips (each create with a client token of
its own) and associate each new instance with a HaVip, as fast as the server answers.
Once enough writes are acknowledged the server is killed: no shutdown code runs. Three
rounds of that, each on what the last kill left. After each kill:

- every acknowledged write is in the store, whole (an instance with its interface and
  address, a HaVip with its address, a membership with its event and status);
- the store is consistent as a whole: every address has an owner that has that
  address, every owner's address is allocated, members point at what exists, a
  HaVip is InUse exactly when it has members, client tokens name what exists, the
  quota usage the API reports is what exists;
- a restarted server answers each request that was in flight at the kill: retried
  with its client token, a create returns what the first attempt made if it
  committed, and makes it now if it did not, so every token names exactly one
  resource (nothing lost, nothing twice).

SQLite runs in WAL mode with synchronous=FULL (test_store.py checks the PRAGMAs); on
PostgreSQL the database server stays up and keeps what it committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from havip.store import Store

from .helpers import Caller, wait_until
from .invariants import check_consistent
from .processes import Replica, Replicas

pytestmark = pytest.mark.integration

WRITERS = 4
KILL_AFTER = 45
"""Acknowledged writes before each kill."""
ROUNDS = 3
"""Kills per test: each round starts the server again on what the last kill left."""


@dataclass
class Write:
    """One request of the stream: what was sent, and the answer if one came."""

    kind: str  # "instance" | "havip" | "member"
    path: str
    body: dict[str, Any]
    answer: dict[str, Any] | None = None
    status: int | None = None
    retried: bool = False  # sent again after the kill that left it unanswered


@dataclass
class Stream:
    tenant_token: str
    subnet: str
    writes: list[Write] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[Write]:
        with self.lock:
            return [w for w in self.writes if w.answer is not None]

    def send(self, caller: Caller, write: Write) -> dict[str, Any]:
        with self.lock:
            self.writes.append(write)
        resp = caller.request("POST", write.path, json=write.body)
        assert resp.status_code in (200, 201), f"{write.path}: {resp.status_code} {resp.text}"
        answer: dict[str, Any] = resp.json()
        write.status, write.answer = resp.status_code, answer  # after the answer: acknowledged
        return answer

    def run(self, caller: Caller, writer: int, round_: int) -> None:
        """Write until the server goes away; a transport error ends the stream."""
        try:
            for i in range(10_000):
                token = f"r{round_}-w{writer}-{i}"
                inst = self.send(
                    caller,
                    Write("instance", "/v1/instances", {"subnet_id": self.subnet, "client_token": f"i-{token}"}),
                )
                h = self.send(
                    caller, Write("havip", "/v1/havips", {"subnet_id": self.subnet, "client_token": f"h-{token}"})
                )
                self.send(
                    caller,
                    Write(
                        "member", f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}
                    ),
                )
        except httpx.TransportError:
            return  # the server was killed
        except BaseException as exc:
            self.errors.append(exc)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[Replicas, Replica]]:
    with Replicas(db_url, tmp_path) as group:
        yield group, group.start("s")


def prepare(server: Replica) -> tuple[Caller, str, str]:
    creds = server.credentials()
    operator = server.caller(creds["operator_token"])
    for quota in ("havips_per_account", "havips_per_vpc"):
        operator.ok("PUT", f"/v1/quotas/{creds['account_id']}/{quota}", json={"value": 100_000})
    tenant = server.caller(creds["tenant_token"])
    vpc = tenant.post("/v1/vpcs", {"cidr": "10.0.0.0/16"})
    subnet = tenant.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.0.0.0/20"})
    return tenant, creds["tenant_token"], subnet["id"]


def check_acknowledged(store: Store, acknowledged: list[Write]) -> None:
    with store.uow() as uow:
        for w in acknowledged:
            assert w.answer is not None
            if w.kind == "instance":
                eni = w.answer["network_interfaces"][0]
                kept = uow.interfaces.get(eni["id"])
                assert uow.instances.get(w.answer["id"]) is not None and kept is not None, f"lost {w.answer['id']}"
                assert kept.primary_ip == eni["primary_ip"]
            elif w.kind == "havip":
                h = uow.havips.get(w.answer["id"])
                assert h is not None and h.ip == w.answer["ip"], f"lost {w.answer['id']}"
            else:
                assert uow.members.count(havip_id=w.answer["id"], member_id=w.body["member_id"]) == 1


def kill_mid_stream(server: Replica, stream: Stream, round_: int) -> list[Write]:
    """Run the writers until KILL_AFTER more writes are acknowledged, SIGKILL the server; the writes in flight."""
    before = len(stream.acknowledged)
    writers = [
        threading.Thread(
            target=stream.run, args=(server.caller(stream.tenant_token, timeout=30), n, round_), name=f"writer-{n}"
        )
        for n in range(WRITERS)
    ]
    for t in writers:
        t.start()
    wait_until(lambda: len(stream.acknowledged) - before >= KILL_AFTER or bool(stream.errors), timeout=120)
    server.kill()
    for t in writers:
        t.join(timeout=60)
    assert not stream.errors, stream.errors
    in_flight = [w for w in stream.writes if w.answer is None and not w.retried]
    assert in_flight, "the kill must land in the middle of the stream"
    return in_flight


def retry(caller: Caller, in_flight: list[Write]) -> None:
    """Send again what got no answer: the same body, so the same client token."""
    for w in in_flight:
        resp = caller.request("POST", w.path, json=w.body)
        if w.kind == "member" and resp.status_code == 409:  # the first attempt committed
            assert resp.json()["code"] == "InvalidMember.AlreadyAssociated", resp.text
        else:
            assert resp.status_code in (200, 201), resp.text
        w.retried = True


def test_sigkill_mid_stream_loses_no_acknowledged_write(served: tuple[Replicas, Replica], db_url: str) -> None:
    _group, server = served
    _tenant, token, subnet = prepare(server)
    stream = Stream(token, subnet)
    for round_ in range(ROUNDS):
        in_flight = kill_mid_stream(server, stream, round_)
        store = Store(db_url)  # the store as the killed server left it
        try:
            check_consistent(store)
            check_acknowledged(store, stream.acknowledged)
        finally:
            store.dispose()
        server.start()
        retry(server.caller(token), in_flight)

    store = Store(db_url)
    try:
        counts = check_consistent(store)
    finally:
        store.dispose()
    tokens = {w.body["client_token"] for w in stream.writes if "client_token" in w.body}
    made = counts["havips"] + counts["instances"]
    assert made == len(tokens), f"{made} resources for {len(tokens)} client tokens"
    assert counts["members"] == sum(1 for w in stream.writes if w.kind == "member")
    assert len(stream.acknowledged) >= ROUNDS * KILL_AFTER
    usage = {q["name"]: q["used"] for q in server.caller(token).get("/v1/quotas")["items"]}
    assert usage["havips_per_account"] == counts["havips"]
