"""Breaking the current master the way a person asks, watching the switch, repairing.

Modes: ``kill`` (keepalived's VRRP process crashes: no goodbye, the VIP stays on the
dead node), ``service`` (the checked service stops: keepalived's track_script fails),
``link`` (the instance's interface goes down), ``freeze`` (keepalived stops being
scheduled: SIGSTOP), and in a lab of several hosts ``host`` (the master's whole host is
lost: every process in it killed, its namespaces gone; repaired by bringing the host back)
and ``partition`` (the master's host loses its underlay; healed by bringing it back). After the switch the old master is repaired so that it rejoins as
a healthy BACKUP (nopreempt keeps the VIP where it is), and the probe's answers are
checked: no answer from a non-holder to a request sent after the switch. A scenario's
second path (the EIP from the internet, the route through the gateways) is checked the
same way; in the ``eip`` scenario a TCP connection from the internet client, open and
idle across the failover, shows how it ended (a reset, and when).
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from havip.domain.rules import gateway_address
from havip.lab import netns
from havip.lab.build import BuildError, LabBuilder, Node, wait_until
from havip.lab.connection import Held, read_held
from havip.lab.hostswitch import host_switches, timestamp_ns
from havip.lab.probe import read_answers
from havip.lab.scenarios import inet_namespace
from havip.lab.spec import UNDERLAY_NIC, host_name, host_namespace
from havip.lab.timeline import Timeline, analyse

log = logging.getLogger("havip.lab")

MODES = ("kill", "service", "link", "freeze", "host", "partition")
HOST_MODES = ("host", "partition")  # labs of several hosts only


class FailoverError(RuntimeError):
    pass


@dataclass
class Failures:
    lab: LabBuilder
    held: int = 0  # connections held across failovers so far (names their logs)

    def _timeout(self) -> float:
        spec = self.lab.spec
        detect = 3 * spec.advert_int + spec.advert_int + 2 * spec.check_interval + 1
        return max(10.0, 3 * detect)

    def failover(self, mode: str, target: str | None = None, control_plane_down: bool = False) -> dict[str, Any]:
        if mode not in MODES:
            raise FailoverError(f"unknown failover mode {mode!r}; modes: {', '.join(MODES)}")
        lab = self.lab
        old_name = lab.holder()
        if old_name is None:
            raise FailoverError("the HaVip has no holder right now; nothing to fail over")
        if target is not None and target != old_name:
            raise FailoverError(f"{target} is not the current master ({old_name} is)")
        old = lab.nodes[old_name]
        if mode in HOST_MODES:
            self._check_host_mode(mode, old)
        members = [n for n in lab.nodes.values() if n.role == "member" and n is not old]
        held = self._hold_connection() if lab.scenario.name == "eip" else None
        serve = lab.table.procs["serve"].pid if control_plane_down else 0
        cp_back_ms: float | None = None
        if control_plane_down:  # frozen: every request to it hangs, as to a machine that is gone
            lab.table.signal(serve, signal.SIGSTOP)
        injected = time.time_ns()
        log.info("failover: injecting %s into %s", mode, old.name)
        self.inject(mode, old)
        repaired = False
        try:
            try:
                if control_plane_down:
                    wait_until(
                        "the client's first answer from another member, with the control plane down",
                        lambda: any(
                            a.instance in {m.name for m in members} for a in read_answers(lab.paths.probe_log, injected)
                        ),
                        self._timeout(),
                        interval=0.01,
                    )
                    lab.table.signal(serve, signal.SIGCONT)
                    back = time.time_ns()
                    wait_until(
                        "the control plane to record the new holder",
                        lambda: (h := lab.holder()) is not None and h != old.name,
                        self._timeout(),
                        interval=0.01,
                    )
                    cp_back_ms = (time.time_ns() - back) / 1e6
                else:
                    wait_until(
                        "another member to take the VIP",
                        lambda: (h := lab.holder()) is not None and h != old.name,
                        self._timeout(),
                        interval=0.01,
                    )
            except BuildError as exc:
                raise FailoverError(f"{exc}; the old master was repaired") from exc
            finally:
                if control_plane_down:
                    lab.table.signal(serve, signal.SIGCONT)
            new_name = lab.holder()
            # a split brain (a partition) can hand the VIP back to the cut-off master already:
            # the timeline is then the other member's, who took it first
            new = next((n for n in members if n.name == new_name), members[0])
            event = self._switch_event(new, injected)
            interval_ns = int(lab.spec.probe_interval_ms * 1e6)
            try:
                wait_until(
                    f"the client's first answer from {new.name}",
                    lambda: any(a.instance == new.name for a in read_answers(lab.paths.probe_log, injected)),
                    5,
                    interval=0.02,
                )
            except BuildError:
                log.warning("the client saw no answer from %s within 5 s", new.name)
            for path in lab.scenario.paths(lab):
                log_file = lab.paths.path_probe_log(path.name)
                try:
                    wait_until(
                        f"the first answer from {new.name} on the {path.name} path",
                        partial(_answered_by, log_file, new.name, injected),
                        5,
                        interval=0.02,
                    )
                except BuildError:
                    log.warning("the %s path saw no answer from %s within 5 s", path.name, new.name)
            time.sleep(max(0.2, 20 * lab.spec.probe_interval_ms / 1000))  # let stale answers show, if any
            garp_ns = timestamp_ns(event.get("at")) if event else None
            latency_us = event.get("latency_us") if event else None

            hosts_switched = self._host_switches(injected)

            def entered_at(k: int) -> int | None:
                """When host ``k`` (where a probe's requests enter the VPC) switched, on the GARP's clock."""
                row = next((h for h in hosts_switched if h["host"] == host_name(k)), None)
                lat = row.get("latency_us") if row else None
                return garp_ns + int(lat) * 1000 if garp_ns is not None and isinstance(lat, int) else None

            def timeline_of(answers_file: Path, k: int) -> Timeline:
                answers = read_answers(answers_file, injected)
                return analyse(
                    mode, old.name, new.name, injected, garp_ns, latency_us, answers, interval_ns, entered_at(k)
                )

            client_host = lab.client().host
            timeline = timeline_of(lab.paths.probe_log, client_host)
            paths = {  # the internet's requests enter at host 1 (the uplink), the gateway path's at the client's
                p.name: _path_result(
                    timeline_of(lab.paths.path_probe_log(p.name), 1 if p.name == "eip" else client_host)
                )
                for p in lab.scenario.paths(lab)
            }
            connection = self._connection_result(held, timeline) if held is not None else None
            repaired = True
            self.repair(mode, old)
            try:
                if mode == "partition":
                    # both sides were MASTER while cut off: healed, VRRP keeps one (the higher
                    # priority) and the control plane must agree with it
                    wait_until(
                        "the split brain to end with one MASTER holding the VIP",
                        lambda: (m := self._masters()) is not None and len(m) == 1 and lab.holder() == m[0],
                        self._timeout(),
                    )
                else:
                    wait_until(
                        f"{old.name} to rejoin as BACKUP",
                        lambda: old.keepalived is not None and old.keepalived.state(lab.table) == "BACKUP",
                        self._timeout(),
                    )
                rejoined = True
            except BuildError:
                rejoined = False
            still = lab.holder()
            result = timeline.as_dict()
            result.update(
                {
                    "rejoined_as_backup": rejoined,
                    "holder_after_repair": still,
                    "holder_stayed": still == new.name,
                    "healed": mode == "partition",
                    "control_plane_down": control_plane_down,
                    "recorded_after_return_ms": cp_back_ms,
                    "event": event,
                    "paths": paths,
                    "hosts_switched": hosts_switched,
                    "connection": connection,
                }
            )
        finally:
            if not repaired:  # whatever failed after the inject, the old master is repaired
                self.repair(mode, old)
        return result

    def _host_switches(self, injected_ns: int) -> list[dict[str, object]]:
        """Several hosts: when each switched the VIP (its agent's log), in host order."""
        lab = self.lab
        if lab.spec.hosts < 2:
            return []
        logs = {
            host_name(k): lab.table.log_dir / f"{LabBuilder.agent_proc(k)}.log" for k in range(1, lab.spec.hosts + 1)
        }
        return [s.as_dict() for s in host_switches(logs, lab.spec.vip, injected_ns)]

    def _masters(self) -> list[str]:
        lab = self.lab
        return [n.name for n in lab.members() if n.keepalived is not None and n.keepalived.state(lab.table) == "MASTER"]

    def _check_host_mode(self, mode: str, old: Node) -> None:
        lab = self.lab
        if lab.spec.hosts < 2:
            raise FailoverError(f"--mode {mode} needs a lab of several hosts (havip lab up --hosts 3)")
        on_it = [n.name for n in lab.nodes_on(old.host) if n.role == "client"]
        if on_it:
            raise FailoverError(
                f"the client shares host {old.host} with the master {old.name}: losing the host would lose the "
                "client too; use a lab of 3 hosts or more"
            )

    def _hold_connection(self) -> Path:
        """A TCP connection from the internet client to the EIP, open and idle (its log)."""
        lab = self.lab
        self.held += 1
        out = lab.paths.connection_log(str(self.held))
        argv = [sys.executable, "-m", "havip.lab.connection", "--target", lab.scenario.eip, "--out", str(out)]
        lab.table.start(f"connection-{self.held}", netns.exec_args(inet_namespace(lab.spec.name), *argv))
        wait_until("the held connection to open", lambda: read_held(out).opened_with is not None, 10)
        return out

    def _connection_result(self, out: Path, timeline: Timeline) -> dict[str, Any]:
        try:
            wait_until("the held connection to end", lambda: read_held(out).outcome is not None, 5)
        except BuildError:
            log.warning("the connection held across the failover has not ended after 5 s")
        held: Held = read_held(out)
        switched = timeline.route_switched_ns
        return {
            "opened_with": held.opened_with,
            "outcome": held.outcome or "hang",
            "ended_ms": timeline.ms(held.ended_ns),
            "after_switch_ms": None if held.ended_ns is None or switched is None else (held.ended_ns - switched) / 1e6,
        }

    def _switch_event(self, new: Node, injected_ns: int) -> dict[str, Any] | None:
        for event in self.lab.api().havip_events(self.lab.havip_id, kind="holder_changed", limit=10):
            at = timestamp_ns(event.get("at"))
            if event.get("instance_id") == new.instance_id and at is not None and at >= injected_ns - 10**9:
                return event
        return None

    def inject(self, mode: str, node: Node) -> None:
        ka = node.keepalived
        assert ka is not None
        if mode == "kill":
            ka.crash(self.lab.table)
        elif mode == "freeze":
            ka.freeze()
        elif mode == "service":
            self.lab.table.stop(f"service-{node.name}", timeout=2)
        elif mode == "link":
            netns.ip("link", "set", "eth0", "down", netns=node.namespace)
        elif mode == "host":
            self.lab.crash_host(node.host)
        elif mode == "partition":
            netns.ip("link", "set", UNDERLAY_NIC, "down", netns=host_namespace(self.lab.spec.name, node.host))

    def repair(self, mode: str, node: Node) -> None:
        lab = self.lab
        ka = node.keepalived
        assert ka is not None
        peers = [n.address for n in lab.nodes.values() if n.role == "member" and n is not node]
        if mode == "kill":
            lab.start_keepalived(node, peers)
        elif mode == "freeze":
            ka.kill_frozen(lab.table)
            lab.start_keepalived(node, peers)
        elif mode == "service":
            node.service = lab.table.start(
                f"service-{node.name}",
                netns.exec_args(node.namespace, sys.executable, "-m", "havip.lab.service", "--name", node.name),
            )
        elif mode == "host":
            lab.restore_host(node.host)
        elif mode == "partition":
            netns.ip("link", "set", UNDERLAY_NIC, "up", netns=host_namespace(lab.spec.name, node.host))
        elif mode == "link":
            netns.ip("link", "set", "eth0", "up", netns=node.namespace)
            netns.ip(
                "route",
                "replace",
                "default",
                "via",
                gateway_address(lab.spec.subnet_cidr),
                "dev",
                "eth0",
                netns=node.namespace,
            )


def _answered_by(log_file: Path, name: str, since_ns: int) -> bool:
    return any(a.instance == name for a in read_answers(log_file, since_ns))


def _path_result(t: Timeline) -> dict[str, Any]:
    d = t.as_dict()
    keys = ("first_answer_ms", "last_old_answer_ms", "lost_probes", "stale_answers_after_switch")
    return {k: d[k] for k in keys}
