"""What the facades remember between requests, in this process only.

- signature nonces, to refuse a replayed request while its timestamp is still
  accepted (Alibaba ``SignatureNonceUsed``; Tencent's legacy ``Nonce``);
- Tencent's asynchronous tasks (``DescribeVpcTaskResult``): the RequestId of every
  asynchronous action that succeeded, with the resources it touched;
- Alibaba ``ClientToken`` answers of actions that are not creates (creates are
  idempotent in the store, across replicas).

Entries expire and the maps are bounded, so memory stays flat under any load. With
several control-plane replicas each remembers its own requests (docs/compat.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """A thread-safe map whose entries expire ``ttl`` seconds after they were put; at most ``size`` entries."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._items:
            key, (at, _value) = next(iter(self._items.items()))
            if now - at < self.ttl and len(self._items) <= self.size:
                break
            del self._items[key]

    def get(self, key: K, now: float) -> V | None:
        with self._lock:
            self._expire(now)
            found = self._items.get(key)
            return found[1] if found else None

    def put_new(self, key: K, value: V, now: float) -> bool:
        """Store ``value`` unless ``key`` is present; True if it was new."""
        with self._lock:
            self._expire(now)
            if key in self._items:
                return False
            self._items[key] = (now, value)
            self._expire(now)
            return True

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Task:
    """A finished asynchronous action: whose it was and the resources it touched."""

    account_id: str
    resource_ids: tuple[str, ...]


NONCE_TTL = 2 * 15 * 60.0  # a nonce outlives the widest accepted clock skew on both sides
TASK_TTL = 24 * 3600.0
TOKEN_TTL = 24 * 3600.0


@dataclass
class Memory:
    nonces: ExpiringMap[tuple[str, str], bool] = field(default_factory=lambda: ExpiringMap(NONCE_TTL, 200_000))
    tasks: ExpiringMap[str, Task] = field(default_factory=lambda: ExpiringMap(TASK_TTL, 50_000))
    answers: ExpiringMap[tuple[str, str, str], dict[str, object]] = field(
        default_factory=lambda: ExpiringMap(TOKEN_TTL, 50_000)
    )
