"""The namespace-scoped kernel adapter: read back observed state, execute planned actions.

``Dataplane(netns)`` reads links, routes of the VPC tables and the egress table, permanent neighbours,
IPv4 policy rules, the agent's nftables tables and the relevant sysctls into an
``Observed``, and executes ``havip.agent.actions`` idempotently (exists / absent is
success). All work runs on the namespace's thread (``Netns``). Links, addresses, routes,
neighbours and rules are read with raw rtnetlink dumps (``rtdump``: pyroute2's decoding
made the read-back of a large host take seconds); actions are applied with pyroute2,
used here and nowhere else. It decides nothing: what to do comes from ``plan``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import socket
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from havip.agent import actions as a
from havip.agent import marks
from havip.agent import ruleset as rs
from havip.agent.dataplane.netns import Netns
from havip.agent.dataplane.rtdump import RtDump
from havip.agent.dataplane.switch import NLM_F_CREATE, NLM_F_REPLACE, RTM_NEWROUTE, route_body
from havip.agent.kernel import DataplaneError
from havip.agent.observed import Encap, Link, Neigh, Observed, Route, Rule

IFF_UP = 0x1
NUD_PERMANENT = 0x80
FR_ACT_TO_TBL = 1
FR_ACT_UNREACHABLE = 7
RT_SCOPE_LINK = 253
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255
RTNH_F_ONLINK = 4
NO_SUPPRESS = 0xFFFFFFFF  # FRA_SUPPRESS_PREFIXLEN as the kernel reports "not set" (-1)

PORT_SYSCTLS = {
    "net/ipv4/conf/{dev}/proxy_arp": "1",
    "net/ipv4/neigh/{dev}/proxy_delay": "0",
    "net/ipv4/conf/{dev}/rp_filter": "0",
    "net/ipv4/conf/{dev}/forwarding": "1",
    "net/ipv4/conf/{dev}/send_redirects": "0",
}
UPLINK_SYSCTLS = {
    "net/ipv4/conf/{dev}/rp_filter": "0",
    "net/ipv4/conf/{dev}/forwarding": "1",
}
HOST_SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/ipv4/conf/all/rp_filter": "0",
    "net/ipv4/conf/default/rp_filter": "0",
    "net/ipv4/conf/all/send_redirects": "0",
    "net/ipv4/conf/default/send_redirects": "0",
}
FWMARK_REFLECT = "net/ipv4/fwmark_reflect"
_NFT_TABLE = re.compile(r'^table (\w+) (\S+) \{\n(?:\s*comment "([^"]*)")?', re.MULTILINE)


def _read_sysctl(key: str) -> str | None:
    try:
        with open(f"/proc/sys/{key}") as f:
            return f.read().strip()
    except OSError:
        return None


def _write_sysctl(key: str, value: str) -> None:
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)


def _ignore(*codes: int) -> Callable[[NetlinkError], bool]:
    return lambda e: e.code in codes


class Dataplane:
    """Kernel I/O for one host namespace. Not thread-safe; one agent loop drives it."""

    def __init__(self, netns: str | Netns) -> None:
        self.ns = netns if isinstance(netns, Netns) else Netns(netns)
        self._ipr: IPRoute = self.ns.run(IPRoute)
        self._dump = RtDump(self.ns)
        # device -> ifindex as the last read saw them: actions on a device use these
        # instead of asking the kernel again (one RTM_GETLINK per route or neighbour)
        self._indexes: dict[str, int] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            a.SetHostSysctls: self._set_host_sysctls,
            a.CreateSink: self._create_sink,
            a.CreateVeth: self._create_veth,
            a.ConfigurePort: self._configure_port,
            a.ReleasePort: self._release_port,
            a.DeleteLink: self._delete_link,
            a.CreateTunnel: self._create_tunnel,
            a.ConfigureUplink: self._configure_uplink,
            a.AddRule: self._add_rule,
            a.DeleteRule: self._delete_rule,
            a.ReplaceRoute: self._replace_route,
            a.DeleteRoute: self._delete_route,
            a.ReplaceNeigh: self._replace_neigh,
            a.DeleteNeigh: self._delete_neigh,
            a.ApplyNftTable: self._apply_nft,
            a.DeleteNftTable: self._delete_nft,
        }

    def close(self) -> None:
        self.ns.run(self._ipr.close)
        self._dump.close()
        self.ns.close()

    # ------------------------------------------------------------------ read back

    def read(self) -> Observed:
        """A full snapshot (``complete=True``) of everything the planner looks at."""
        try:
            return self.ns.run(self._read)
        except (NetlinkError, OSError, subprocess.SubprocessError) as e:
            raise DataplaneError(f"reading the kernel state of {self.ns.name} failed: {e}") from e

    def _read(self) -> Observed:
        links = {}
        with_ipv4 = self._dump.ipv4_address_links()
        for msg in self._dump.links():
            name = msg.name
            links[name] = Link(
                name=name,
                index=msg.ifindex,
                alias=msg.alias,
                mac=msg.mac,
                up=bool(msg.flags & IFF_UP),
                kind=msg.kind,
                has_ipv4=msg.ifindex in with_ipv4,
                mtu=msg.mtu,
                tunnel_port=msg.vxlan_port,
                port_sysctls_ok=name != "lo" and self._sysctls_ok(PORT_SYSCTLS, name),
                uplink_sysctls_ok=name != "lo" and self._sysctls_ok(UPLINK_SYSCTLS, name),
            )
        names = {link.index: n for n, link in links.items()}
        self._indexes = {n: link.index for n, link in links.items()}
        routes = {
            Route(
                table=r.table,
                dst=r.dst,
                device=names.get(r.oif) if r.oif is not None else None,
                proto=r.proto,
                gateway=r.gateway,
                encap=Encap(*r.encap) if r.encap is not None else None,
            )
            for r in self._dump.routes()
            if marks.is_our_route_table(r.table)
        }
        neighs = {
            Neigh(names[n.ifindex], n.dst, n.lladdr, bool(n.state & NUD_PERMANENT))
            for n in self._dump.neighbours()
            if n.ifindex in names and n.dst is not None
        }
        rules = {
            Rule(
                priority=r.priority,
                iif=r.iif,
                table=r.table if r.action == FR_ACT_TO_TBL else None,
                proto=r.protocol,
                fwmark=r.fwmark,
                fwmask=r.fwmask if r.fwmark is not None else None,
                suppress_prefixlength=None if r.suppress_prefixlen in (None, NO_SUPPRESS) else r.suppress_prefixlen,
                tun_id=r.tun_id,
            )
            for r in self._dump.rules()
        }
        host_ready = all(_read_sysctl(k) == v for k, v in HOST_SYSCTLS.items())
        fwmark_reflect = _read_sysctl(FWMARK_REFLECT) == "1"
        return Observed(
            complete=True,
            host_ready=host_ready,
            fwmark_reflect=fwmark_reflect,
            links=links,
            routes=frozenset(routes),
            neighs=frozenset(neighs),
            rules=frozenset(rules),
            nft=self._nft_tables(),
        )

    @staticmethod
    def _sysctls_ok(wanted: dict[str, str], dev: str) -> bool:
        return all(_read_sysctl(k.format(dev=dev)) == v for k, v in wanted.items())

    def _nft_tables(self) -> dict[tuple[str, str], str]:
        out = _nft(["-t", "list", "ruleset"])
        tables = {}
        for family, name, comment in _NFT_TABLE.findall(out):
            digest = comment[len(rs.DIGEST_PREFIX) :] if comment.startswith(rs.DIGEST_PREFIX) else ""
            tables[(family, name)] = digest
        return tables

    def nft_counters(self) -> dict[str, int]:
        """Packets per named counter of the agent's tables ("<table>.<counter>" -> packets)."""

        text = self.ns.run(_nft, ["-j", "list", "counters"])
        out = {}
        for item in json.loads(text).get("nftables", []):
            c = item.get("counter")
            if c and marks.is_our_nft_table(c.get("table", "")):
                out[f"{c['table']}.{c['name']}"] = int(c["packets"])
        return out

    # ---------------------------------------------------------------------- apply

    def apply(self, acts: Iterable[a.Action]) -> list[tuple[a.Action, DataplaneError]]:
        """Execute actions in order; failures are collected, not raised, so one bad
        port does not stop the rest. Returns (action, error) for each failure."""
        failures = []
        for act in acts:
            try:
                self.ns.run(self._run, act)
            except (NetlinkError, OSError, subprocess.SubprocessError, DataplaneError) as e:
                err = e if isinstance(e, DataplaneError) else DataplaneError(f"{act!r}: {e}")
                err.__cause__ = e if err is not e else e.__cause__
                failures.append((act, err))
        return failures

    def _run(self, act: a.Action) -> None:
        """Run ``act``'s handler. ENODEV after an ifindex came from the last read means
        the device was deleted (and maybe recreated under its name) since: forget the
        read's indexes and run it once more, looking each device up (handlers are idempotent)."""
        handler = self._handlers[type(act)]
        try:
            handler(act)
        except NetlinkError as e:
            if e.code != errno.ENODEV or not self._indexes:
                raise
            self._indexes = {}
            handler(act)

    def _find(self, dev: str) -> int | None:
        """The ifindex of ``dev``: as the last read saw it, else asked of the kernel."""
        index = self._indexes.get(dev)
        if index is None:
            found = self._ipr.link_lookup(ifname=dev)
            index = int(found[0]) if found else None
        return index

    def _ifindex(self, dev: str) -> int:
        index = self._find(dev)
        if index is None:
            raise DataplaneError(f"no device {dev!r} in {self.ns.name}")
        return index

    def _nl(self, ok: Callable[[NetlinkError], bool], fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        try:
            fn(*args, **kw)
        except NetlinkError as e:
            if not ok(e):
                raise

    def _set_host_sysctls(self, _: a.SetHostSysctls) -> None:
        for k, v in HOST_SYSCTLS.items():
            _write_sysctl(k, v)

    def _create_sink(self, act: a.CreateSink) -> None:
        self._indexes.pop(act.name, None)
        self._nl(_ignore(errno.EEXIST), self._ipr.link, "add", ifname=act.name, kind="ifb")
        idx = self._ifindex(act.name)
        self._disable_ipv6(act.name)
        self._ipr.link("set", index=idx, ifalias=marks.ALIAS_SINK + act.vpc_id, state="up")

    def _create_veth(self, act: a.CreateVeth) -> None:
        self._indexes.pop(act.name, None)
        self._indexes.pop(act.peer, None)
        self._nl(_ignore(errno.EEXIST), self._ipr.link, "add", ifname=act.name, kind="veth", peer=act.peer)

    def _configure_port(self, act: a.ConfigurePort) -> None:
        idx = self._ifindex(act.device)
        for k, v in PORT_SYSCTLS.items():
            _write_sysctl(k.format(dev=act.device), v)
        self._disable_ipv6(act.device)
        try:
            self._ipr.link("set", index=idx, address=act.gateway_mac)
        except NetlinkError as e:
            if e.code != errno.EBUSY:
                raise
            self._ipr.link("set", index=idx, state="down")
            self._ipr.link("set", index=idx, address=act.gateway_mac)
        self._ipr.link("set", index=idx, ifalias=act.alias, state="up")

    @staticmethod
    def _disable_ipv6(dev: str) -> None:
        """No link-local address either: the host side has no IP at all."""
        with contextlib.suppress(OSError):  # no IPv6 on this kernel: nothing to disable
            _write_sysctl(f"net/ipv6/conf/{dev}/disable_ipv6", "1")

    def _create_tunnel(self, act: a.CreateTunnel) -> None:
        """The VXLAN-GPE collect_md device: created (a device of that name that is no
        vxlan of this port is replaced: the name is reserved for the agent), then MTU,
        rp_filter=0 and forwarding=1 (decapsulated packets are forwarded to ports), up."""
        self._indexes.pop(act.name, None)
        found = self._ipr.link_lookup(ifname=act.name)
        if found:
            links = self._dump.links()
            mine = next((m for m in links if m.ifindex == found[0]), None)
            if mine is None or mine.kind != "vxlan" or mine.vxlan_port != act.port:
                self._nl(_ignore(errno.ENODEV), self._ipr.link, "del", index=found[0])
        self._nl(
            _ignore(errno.EEXIST),
            self._ipr.link,
            "add",
            ifname=act.name,
            kind="vxlan",
            vxlan_gpe=True,
            vxlan_collect_metadata=1,
            vxlan_learning=0,  # the kernel's default, and GPE refuses it (no MACs to learn)
            vxlan_port=act.port,
        )
        idx = self._ifindex(act.name)
        self._disable_ipv6(act.name)
        for k, v in UPLINK_SYSCTLS.items():
            _write_sysctl(k.format(dev=act.name), v)
        self._ipr.link("set", index=idx, mtu=act.mtu, ifalias=marks.ALIAS_TUNNEL, state="up")
        _write_sysctl(FWMARK_REFLECT, "1")

    def _configure_uplink(self, act: a.ConfigureUplink) -> None:
        self._ifindex(act.device)
        for k, v in UPLINK_SYSCTLS.items():
            _write_sysctl(k.format(dev=act.device), v)

    def _release_port(self, act: a.ReleasePort) -> None:
        index = self._find(act.device)
        if index is not None:
            self._ipr.link("set", index=index, ifalias="")

    def _delete_link(self, act: a.DeleteLink) -> None:
        self._indexes.pop(act.name, None)
        self._nl(_ignore(errno.ENODEV), self._ipr.link, "del", ifname=act.name)

    @staticmethod
    def _rule_args(act: a.AddRule | a.DeleteRule) -> dict[str, Any]:
        kw: dict[str, Any] = {"priority": act.priority, "protocol": marks.RTPROT_HAVIP, "family": socket.AF_INET}
        if act.iif:
            kw["iifname"] = act.iif
        if act.table is None:
            kw["action"] = "unreachable"
        else:
            kw["table"] = act.table
        if act.fwmark is not None:
            kw["fwmark"] = act.fwmark
            kw["fwmask"] = marks.MARK_FULL if act.fwmask is None else act.fwmask
        if act.suppress_prefixlength is not None:
            kw["suppress_prefixlen"] = act.suppress_prefixlength
        if act.tun_id is not None:
            kw["tun_id"] = act.tun_id
        return kw

    def _add_rule(self, act: a.AddRule) -> None:
        self._nl(_ignore(errno.EEXIST), self._ipr.rule, "add", **self._rule_args(act))

    def _delete_rule(self, act: a.DeleteRule) -> None:
        self._nl(_ignore(errno.ENOENT), self._ipr.rule, "del", **self._rule_args(act))

    def _replace_route(self, act: a.ReplaceRoute) -> None:
        if act.encap is not None:
            self._replace_tunnel_route(act, act.encap)
            return
        via: dict[str, Any] = {"scope": RT_SCOPE_LINK}
        if act.gateway is not None:  # a next hop: its address, on the port without a connected route
            via = {"scope": RT_SCOPE_UNIVERSE, "gateway": act.gateway, "flags": RTNH_F_ONLINK}
        self._ipr.route(
            "replace", dst=act.dst, table=act.table, oif=self._ifindex(act.device), proto=marks.RTPROT_HAVIP, **via
        )

    def _replace_tunnel_route(self, act: a.ReplaceRoute, encap: Encap) -> None:
        """``dst encap ip id VNI dst PEER dev <tunnel> table T proto 77``, sent raw (``switch.route_body``)."""
        body = route_body(act.table, act.dst, self._ifindex(act.device), encap=encap)
        self._dump.request(RTM_NEWROUTE, NLM_F_REPLACE | NLM_F_CREATE, body)

    def _delete_route(self, act: a.DeleteRoute) -> None:
        self._nl(
            _ignore(errno.ESRCH, errno.ENOENT),
            self._ipr.route,
            "del",
            dst=act.dst,
            table=act.table,
            proto=marks.RTPROT_HAVIP,
            scope=RT_SCOPE_NOWHERE,  # any scope: device routes are link, route entries universe
        )

    def _replace_neigh(self, act: a.ReplaceNeigh) -> None:
        self._ipr.neigh("replace", dst=act.ip, lladdr=act.mac, ifindex=self._ifindex(act.device), state=NUD_PERMANENT)

    def _delete_neigh(self, act: a.DeleteNeigh) -> None:
        index = self._find(act.device)
        if index is not None:
            self._nl(_ignore(errno.ENOENT), self._ipr.neigh, "del", dst=act.ip, ifindex=index)

    def _apply_nft(self, act: a.ApplyNftTable) -> None:
        _nft(["-f", "-"], stdin=act.text)

    def _delete_nft(self, act: a.DeleteNftTable) -> None:
        _nft(["-f", "-"], stdin=f"table {act.family} {act.name}\ndelete table {act.family} {act.name}\n")

    # ----------------------------------------------------------- claim path (slow)

    def switch_vip(self, table: int, vip: str, device: str, mac: str) -> None:
        """Move a VIP with pyroute2: neigh replace, then route replace, each acked."""
        self.ns.run(self._run, a.ReplaceNeigh(device, vip, mac))
        self.ns.run(self._run, a.ReplaceRoute(table, f"{vip}/32", device))


def _nft(args: list[str], stdin: str | None = None) -> str:
    """Run nft in the calling thread's namespace (always the Netns worker)."""
    try:
        done = subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError as e:
        raise DataplaneError("nft is not installed") from e
    if done.returncode != 0:
        raise DataplaneError(f"nft {' '.join(args)} failed: {done.stderr.strip()[:2000]}")
    return done.stdout
