"""Breaking the current master the way a person asks, watching the switch, repairing.

Modes: ``kill`` (keepalived's VRRP process crashes: no goodbye, the VIP stays on the
dead node), ``service`` (the checked service stops: keepalived's track_script fails),
``link`` (the instance's interface goes down), ``freeze`` (keepalived stops being
scheduled: SIGSTOP). After the switch the old master is repaired so that it rejoins as
a healthy BACKUP (nopreempt keeps the VIP where it is), and the probe's answers are
checked: no answer from a non-holder to a request sent after the switch.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

from havip.lab import netns
from havip.lab.build import BuildError, LabBuilder, Node, wait_until
from havip.lab.probe import read_answers
from havip.lab.timeline import analyse

log = logging.getLogger("havip.lab")

MODES = ("kill", "service", "link", "freeze")


class FailoverError(RuntimeError):
    pass


@dataclass
class Failures:
    lab: LabBuilder

    def _timeout(self) -> float:
        spec = self.lab.spec
        detect = 3 * spec.advert_int + spec.advert_int + 2 * spec.check_interval + 1
        return max(10.0, 3 * detect)

    def failover(self, mode: str, target: str | None = None) -> dict[str, Any]:
        if mode not in MODES:
            raise FailoverError(f"unknown failover mode {mode!r}; modes: {', '.join(MODES)}")
        lab = self.lab
        old_name = lab.holder()
        if old_name is None:
            raise FailoverError("the HaVip has no holder right now; nothing to fail over")
        if target is not None and target != old_name:
            raise FailoverError(f"{target} is not the current master ({old_name} is)")
        old = lab.nodes[old_name]
        members = [n for n in lab.nodes.values() if n.role == "member" and n is not old]
        injected = time.time_ns()
        log.info("failover: injecting %s into %s", mode, old.name)
        self.inject(mode, old)
        try:
            wait_until(
                "another member to take the VIP",
                lambda: (h := lab.holder()) is not None and h != old.name,
                self._timeout(),
                interval=0.01,
            )
        except BuildError as exc:
            self.repair(mode, old)
            raise FailoverError(f"{exc}; the old master was repaired") from exc
        new_name = lab.holder()
        new = next(n for n in members if n.name == new_name)
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
        time.sleep(max(0.2, 20 * lab.spec.probe_interval_ms / 1000))  # let stale answers show, if any
        answers = read_answers(lab.paths.probe_log, injected)
        timeline = analyse(
            mode,
            old.name,
            new.name,
            injected,
            _ns(event.get("at")) if event else None,
            event.get("latency_us") if event else None,
            answers,
            interval_ns,
        )
        self.repair(mode, old)
        try:
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
                "event": event,
            }
        )
        return result

    def _switch_event(self, new: Node, injected_ns: int) -> dict[str, Any] | None:
        for event in self.lab.api().havip_events(self.lab.havip_id, kind="holder_changed", limit=10):
            at = _ns(event.get("at"))
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
        elif mode == "link":
            netns.ip("link", "set", "eth0", "up", netns=node.namespace)
            gateway = str(ipaddress.IPv4Network(lab.spec.subnet_cidr).network_address + 1)
            netns.ip("route", "replace", "default", "via", gateway, "dev", "eth0", netns=node.namespace)


def _ns(text: Any) -> int | None:
    if not text:
        return None
    t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1_000_000) * 1000
