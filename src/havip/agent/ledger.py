"""The one owner of the agent's local claims and of the claim path's view.

A local claim is the agent's own word on who holds a HaVip: the claim path switched the
route for it, and the control plane has not yet shown (in a desired state fetched after
the claim's report was answered) what it made of it. Until then, a reconcile must never
move the VIP back. The ledger keeps, under one lock:

- the claim path's ``ClaimView`` (swapped whole after every reconcile);
- the local claims (``claims.LocalClaims``), with when each HaVip was last claimed;
- one event counter (``tick``) that orders claims, deliveries and fetches;
- ``switch_lock``, held by the claim path around a route switch and by a reconcile around
  the few VIP actions of its plan, so the two never race on a VIP's route.

A reconcile ``begin``s (its generation and the local holders to plan with) and, if no
claim came in meanwhile (``unchanged``), applies its VIP actions; then ``settle``s (the
claims its fetch answered retire, the new view goes in). Nothing here does I/O.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

from havip.agent import claims as c
from havip.agent.claims import Claimed
from havip.agent.peers import Holding, newer

REMOTE_HOLD_NS = 5_000_000_000
"""How long a peer's claim may outrank the desired state when the control plane shows
nothing of it (its report was refused, or never sent): then the control plane's word wins."""


class Ledger:
    def __init__(self, host: str) -> None:
        self.switch_lock = threading.Lock()
        self._lock = threading.Lock()
        self._tick = itertools.count(1)
        self._claims = c.LocalClaims()
        self._generation = 0
        self._last_claim: dict[str, int] = {}
        self._view = c.ClaimView(host=host)
        self._held: dict[str, Holding] = {}  # by HaVip id: the newest claim this host acted on

    # ------------------------------------------------------------------ reads

    @property
    def view(self) -> c.ClaimView:
        return self._view  # swapped whole: readers need no lock

    def snapshot(self) -> tuple[c.ClaimView, dict[str, str]]:
        """The view and the local holders (HaVip id -> interface id), consistent with each
        other; the dict is a fresh copy the caller may change."""
        with self._lock:
            return self._view, self._claims.holders()

    def last_claim_ns(self, havip_id: str) -> int:
        return self._last_claim.get(havip_id, 0)

    def local(self) -> c.LocalClaims:
        return self._claims

    def holding(self, vip: c.VipInfo) -> Holding | None:
        """What this host holds the HaVip by: the newest of its own and peers' claims it
        acted on and the control plane's record (by epoch)."""
        record = Holding(vip.epoch, vip.holder_host or "") if vip.epoch else None
        mine = self._held.get(vip.havip_id)
        if record is None or (mine is not None and newer(mine, record)):
            return mine
        return record

    def tick(self) -> int:
        """The next value of the event counter (a fetch starts at it)."""
        return next(self._tick)

    # ---------------------------------------------------------------- claims

    def record(self, claims: Sequence[Claimed]) -> None:
        """The claim path just moved these VIPs (call it under ``switch_lock``)."""
        if not claims:
            return
        with self._lock:
            self._claims = self._claims.add_many(
                [(x.havip_id, x.interface_id, x.at_ns) for x in claims], {x.havip_id: x.epoch for x in claims}
            )
            self._generation += 1
            for x in claims:
                self._last_claim[x.havip_id] = x.at_ns
                if x.epoch:
                    self._held[x.havip_id] = Holding(x.epoch, self._view.host)

    def remote_hold_ends_ns(self) -> int | None:
        """When the oldest peer's claim not yet settled may be retired by a desired state
        whose fetch starts then (its hold, ``REMOTE_HOLD_NS``, is over); None: none held."""
        with self._lock:
            held = [c.at_ns for c in self._claims.claims.values() if c.host]
        return min(held) + REMOTE_HOLD_NS + 1 if held else None  # retire() keeps what is not older

    def record_remote(self, claims: Sequence[tuple[str, str, int, int, str]]) -> None:
        """Peers' claims the claim path just routed into the tunnel: (HaVip id, interface
        id, when, epoch, host) each (call it under ``switch_lock``)."""
        if not claims:
            return
        with self._lock:
            self._claims = self._claims.add_remote(claims)
            self._generation += 1
            for havip_id, _interface, _at, epoch, host in claims:
                self._held[havip_id] = Holding(epoch, host)

    def delivered(self, claim: Claimed) -> None:
        """The report of this claim was answered (any outcome, or dropped): from the next
        fetch on, the desired state says what became of it."""
        with self._lock:
            self._claims = self._claims.delivered(claim.havip_id, claim.interface_id, claim.at_ns, next(self._tick))

    # -------------------------------------------------------------- reconcile

    def settles_any(self, fetch: c.Fetched) -> bool:
        """Would this desired state retire a local claim? Then it needs a reconcile even
        at an unchanged revision."""
        with self._lock:
            return self._retired(fetch) != self._claims

    def begin(self, fetch: c.Fetched) -> tuple[int, dict[str, str]]:
        """(the claim generation, the local holders a reconcile plans with)."""
        with self._lock:
            return self._generation, self._retired(fetch).holders()

    def _retired(self, fetch: c.Fetched) -> c.LocalClaims:
        return self._claims.retire(fetch.tick, fetch.havip_ids, fetch.epochs, fetch.started_ns - REMOTE_HOLD_NS)

    def unchanged(self, generation: int) -> bool:
        """No claim came in since ``begin`` returned ``generation`` (hold ``switch_lock``)."""
        return generation == self._generation

    def settle(self, fetch: c.Fetched, view: c.ClaimView) -> None:
        """A reconcile is done: retire what its fetch settled and swap the view in."""
        with self._lock:
            self._claims = self._retired(fetch)
            self._view = view
            for havip_id in [h for h in self._held if h not in fetch.havip_ids]:
                del self._held[havip_id]
