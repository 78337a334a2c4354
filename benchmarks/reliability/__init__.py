"""The reliability report (issue 15): faults and attacks, each injected in a real lab,
judged by what a user loses; ``python -m benchmarks.reliability`` (``make reliability``).

A group is a module ``benchmarks.reliability.<group>`` listed in ``GROUPS`` with:

- ``run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> list[dict]``:
  injects its faults or attacks (``tiny``: each once or twice, what the test suite runs)
  and returns its rows, ``rows.Row(...).as_dict()``;
- ``WHAT``: one line for the report's list of groups.

Each group's rows are written to ``<out>/reliability-<group>.json`` (with the machine);
``RELIABILITY.md`` is regenerated from every such file (``report``).
"""

from __future__ import annotations

GROUPS: tuple[str, ...] = ("faults", "attacks", "store")

# What issue 15 asks the report to cover, in report order: (row name, what). A row that no
# group produced yet is listed in RELIABILITY.md under "Not yet covered", never left out.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("agent-sigkill-during-failover", "agent SIGKILL during a failover"),
    ("agent-sigkill-during-mass-failover", "agent SIGKILL during a mass failover of 1,000 HaVips"),
    ("control-plane-sigkill-during-failover", "control plane SIGKILL during a failover"),
    ("postgresql-restart", "PostgreSQL stopped and restarted"),
    ("sqlite-disk-full", "SQLite's disk full, then space again"),
    ("agent-frozen", "a frozen agent (SIGSTOP)"),
    ("member-frozen", "a frozen member (keepalived SIGSTOP)"),
    ("host-lost", "a whole host lost"),
    ("host-partitioned", "a host partitioned and healed"),
    ("underlay-loss-10", "underlay loss of 10% during a cross-host failover"),
    ("underlay-loss-50", "underlay loss of 50% during a cross-host failover"),
    ("clock-step", "a clock step of +-1 h on one host's agent"),
    ("garp-flood", "a GARP flood from a non-member during a failover"),
    ("arp-request-flood", "an ARP request flood from a non-member during a failover"),
    ("api-flood", "an API flood during a failover"),
    ("soak", "consecutive failovers at VRRPv3 0.01 s, open files and memory before and after"),
    ("arp-other-instance", "ARP and GARP for another instance's address"),
    ("garp-vip-non-member", "GARP for the VIP from a non-member"),
    ("foreign-source-mac", "a foreign source MAC"),
    ("foreign-arp-sha", "a foreign MAC inside the ARP payload"),
    ("spoofed-ip-source", "IP with a spoofed source"),
    ("member-sends-as-vip", "a member sending as the VIP while not holding it"),
    ("forged-claim", "a forged claim message across hosts"),
    ("replayed-claim", "a replayed claim message across hosts"),
    ("tunnel-foreign-vni", "encapsulated traffic with a foreign VNI"),
    ("tunnel-foreign-inner-source", "encapsulated traffic with a foreign inner source"),
    ("tunnel-unknown-underlay", "encapsulated traffic from an unknown underlay address"),
    ("tenant-isolation", "tenant isolation at the API"),
)
