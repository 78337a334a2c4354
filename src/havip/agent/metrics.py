"""The agent's Prometheus metrics and its small HTTP endpoint (/metrics, /debug/state).

``AgentMetrics`` owns its own registry (nothing global, so several agents can run in
one test process). ``DropTotals`` turns the antispoof table's nft counters, which
restart at zero whenever the table is replaced, into monotonic totals: a reading lower
than the previous one means the table was replaced, and counts from zero again.
``serve`` starts the endpoint on 127.0.0.1 by default; ``/debug/state`` answers the
agent's dump (desired + observed + local claims) as JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class DropTotals:
    """Monotonic sums of counters that reset when their nft table is replaced."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def deltas(self, reading: Mapping[str, int]) -> dict[str, int]:
        out = {}
        for key, value in reading.items():
            last = self._last.get(key, 0)
            delta = value - last if value >= last else value  # lower: replaced, counted from 0
            if delta:
                out[key] = delta
            self._last[key] = value
        return out

    def forget_table(self, table: str) -> None:
        """The table is about to be replaced: the next reading starts from zero."""
        for key in list(self._last):
            if key.startswith(table + "."):
                self._last[key] = 0


class AgentMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.claims = Counter("havip_agent_claims", "Gratuitous ARPs for HaVips by verdict", ["verdict"], registry=r)
        self.refused = Counter("havip_agent_refused_claims", "Refused claims read from NFLOG", registry=r)
        self.switch_latency = Histogram(
            "havip_agent_switch_latency_seconds",
            "Kernel receive time of a claim to the kernel's ack of the route switch",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.peer_sent = Counter(
            "havip_agent_peer_datagrams_sent",
            "Claim messages sent to peers' agents, by outcome",
            ["outcome"],
            registry=r,
        )
        self.peer_claims = Counter(
            "havip_agent_peer_claims",
            "Claims in peers' messages: applied, or why they were refused",
            ["result"],
            registry=r,
        )
        self.peer_dropped = Counter(
            "havip_agent_peer_datagrams_dropped", "Datagrams refused whole, by reason", ["reason"], registry=r
        )
        self.peer_latency = Histogram(
            "havip_agent_peer_switch_latency_seconds",
            "A claim's GARP received here to a peer's ack of its route into the tunnel (from the peers' acks)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reconciles = Counter("havip_agent_reconciles", "Reconcile passes", registry=r)
        self.reconcile_errors = Counter(
            "havip_agent_reconcile_errors", "Kernel actions or read-backs that failed", registry=r
        )
        self.drops = Counter("havip_agent_drops", "Frames nftables dropped, by reason", ["reason"], registry=r)
        self.split_brains = Counter("havip_agent_split_brains", "Discovery rounds that found a split brain", registry=r)
        self.findings = Counter(
            "havip_agent_discovery_findings", "Discovery findings per HaVip", ["finding"], registry=r
        )
        self.flows = Counter(
            "havip_agent_flows",
            "Tracked flows of a moved VIP or a removed EIP: deleted from conntrack, or kicked (reset)",
            ["action"],
            registry=r,
        )
        self.ports_refused = Counter(
            "havip_agent_ports_refused",
            "Devices named as ports that the agent refused to adopt (once per device and reason)",
            ["reason"],
            registry=r,
        )
        self.loop_errors = Counter(
            "havip_agent_loop_errors",
            "Unexpected exceptions out of a loop's step: logged, counted, retried after a backoff",
            ["loop"],
            registry=r,
        )
        self.switch_failures = Counter(
            "havip_agent_switch_failures",
            "Route switches the kernel refused, by what asked for them (claim or heal)",
            ["kind"],
            registry=r,
        )
        self.reports = Counter("havip_agent_reports", "Reports delivered", ["kind", "outcome"], registry=r)
        self.report_queue = Gauge("havip_agent_report_queue", "Reports waiting for the control plane", registry=r)
        self.revision = Gauge("havip_agent_desired_revision", "Revision of the desired state applied", registry=r)
        self.control_plane_up = Gauge(
            "havip_agent_control_plane_up", "1 when the last request got an answer", registry=r
        )
        self._drop_totals = DropTotals()

    def count_drops(self, reading: Mapping[str, int]) -> None:
        for key, delta in self._drop_totals.deltas(reading).items():
            self.drops.labels(reason=key.split(".", 1)[-1]).inc(delta)

    def table_replaced(self, table: str) -> None:
        self._drop_totals.forget_table(table)

    def text(self) -> bytes:
        return generate_latest(self.registry)


def serve(metrics: AgentMetrics, dump: Callable[[], Any], host: str, port: int) -> ThreadingHTTPServer:
    """Serve /metrics and /debug/state in a daemon thread; returns the server (shutdown())."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, ctype = metrics.text(), CONTENT_TYPE_LATEST
            elif self.path == "/debug/state":
                body, ctype = json.dumps(dump(), indent=2, default=str).encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the agent logs JSON
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="havip-metrics", daemon=True).start()
    return server
