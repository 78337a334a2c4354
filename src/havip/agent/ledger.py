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


class Ledger:
    def __init__(self, host: str) -> None:
        self.switch_lock = threading.Lock()
        self._lock = threading.Lock()
        self._tick = itertools.count(1)
        self._claims = c.LocalClaims()
        self._generation = 0
        self._last_claim: dict[str, int] = {}
        self._view = c.ClaimView(host=host)

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

    def tick(self) -> int:
        """The next value of the event counter (a fetch starts at it)."""
        return next(self._tick)

    # ---------------------------------------------------------------- claims

    def record(self, claims: Sequence[Claimed]) -> None:
        """The claim path just moved these VIPs (call it under ``switch_lock``)."""
        if not claims:
            return
        with self._lock:
            self._claims = self._claims.add_many([(x.havip_id, x.interface_id, x.at_ns) for x in claims])
            self._generation += 1
            for x in claims:
                self._last_claim[x.havip_id] = x.at_ns

    def delivered(self, claim: Claimed) -> None:
        """The report of this claim was answered (any outcome, or dropped): from the next
        fetch on, the desired state says what became of it."""
        with self._lock:
            self._claims = self._claims.delivered(claim.havip_id, claim.interface_id, claim.at_ns, next(self._tick))

    # -------------------------------------------------------------- reconcile

    def settles_any(self, fetch_tick: int, havip_ids: Sequence[str]) -> bool:
        """Would a desired state fetched from ``fetch_tick`` on (with these HaVips) retire
        a local claim? Then it needs a reconcile even at an unchanged revision."""
        with self._lock:
            return self._claims.retire(fetch_tick, havip_ids) != self._claims

    def begin(self, fetch_tick: int, havip_ids: Sequence[str]) -> tuple[int, dict[str, str]]:
        """(the claim generation, the local holders a reconcile plans with)."""
        with self._lock:
            return self._generation, self._claims.retire(fetch_tick, havip_ids).holders()

    def unchanged(self, generation: int) -> bool:
        """No claim came in since ``begin`` returned ``generation`` (hold ``switch_lock``)."""
        return generation == self._generation

    def settle(self, fetch_tick: int, havip_ids: Sequence[str], view: c.ClaimView) -> None:
        """A reconcile is done: retire what its fetch settled and swap the view in."""
        with self._lock:
            self._claims = self._claims.retire(fetch_tick, havip_ids)
            self._view = view
