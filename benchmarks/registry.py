"""The benchmarks of issue 8, in report order, and what each module must provide.

A benchmark is a module ``benchmarks.<name>`` with:

- ``run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict``: runs
  it (``tiny``: the smallest sizes, what the test suite runs) and returns its result,
  JSON-serialisable, with ``"name": <name>``; the runner adds ``machine`` and ``tiny``.
- ``section(result: dict, out: Path, rel: Path) -> fmt.Section``: its rows of the
  targets table, its part of ``BENCHMARKS.md`` (writing its PNGs into ``out``, linked
  as ``rel / file``) and its notes on method.
- ``table(result: dict) -> str``: what the terminal shows after the run.

An entry whose module does not exist yet, or whose result was never written, is listed
under "Not yet measured" with its ``what``.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Entry:
    name: str  # --only key, results/<name>.json, module benchmarks.<name>
    number: int  # issue 8's numbering
    title: str
    what: str
    needs: tuple[str, ...] = ()  # commands it needs (checked before it runs)

    def module(self) -> ModuleType | None:
        name = f"benchmarks.{self.name}"
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)


ENTRIES: tuple[Entry, ...] = (
    Entry("claim", 1, "Claim latency", "GARP kernel rx to the VIP's route acknowledged, 200 claims"),
    Entry("failover", 2, "Failover seen by a client", "failure injected to the first answer, havip against a bridge"),
    Entry("mass", 3, "Mass failover", "1,000 HaVips on one pair failing over at once"),
    Entry(
        "control",
        4,
        "Control plane",
        "requests/s and p99 for describe/create/associate at 100k HaVips; desired state for 10k interfaces",
    ),
    Entry("scale", 5, "Agent at scale", "reconcile 2,000 interfaces and 1,000 HaVips from empty, and a no-op resync"),
    Entry(
        "forwarding",
        6,
        "Forwarding",
        "iperf3 throughput and small-packet rate against the plain bridge",
        needs=("iperf3",),
    ),
    Entry(
        "ovn",
        7,
        "The OVN peer",
        "the same pair behind OVN's virtual port, GARP to first answer",
        needs=("ovs-vsctl", "ovn-nbctl", "ovn-northd", "ovn-controller", "ethtool"),
    ),
    Entry(
        "crosshost", 8, "Claim across hosts", "GARP on one host to the route acknowledged on every other host, 10 hosts"
    ),
    Entry(
        "fleet",
        9,
        "Change feed at fleet scale",
        "1,000 simulated agents on PostgreSQL: a claim wakes only its VPC's 10 hosts, CPU per claim at 100 vs 1,000",
    ),
)

BY_NAME = {e.name: e for e in ENTRIES}
