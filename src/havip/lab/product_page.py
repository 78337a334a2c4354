"""The Tencent product page's keepalived configuration, as the lab runs it.

The page's ``vrrp_instance`` is kept word for word; only the addresses, the interface
and (for fast test runs) the VRRP version and advert_int are substituted, and the
``checkhaproxy`` script it tracks is defined as a real health check of the service the
instance runs. Pure text; the lab writes it to a file.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

# The product page's block (seeds/tencent-havip.md), with placeholders for what a lab substitutes.
PRODUCT_PAGE_INSTANCE = string.Template("""\
vrrp_instance VI_1 {
    state BACKUP           #备
    interface $interface          #网卡名
    virtual_router_id 51
    nopreempt                   #非抢占模式
    #preempt_delay 10
    priority $priority
    advert_int $advert_int
${authentication}    unicast_src_ip $src   #本机内网 IP
    unicast_peer {
$peers
    }

    virtual_ipaddress {

        $vip          #虚拟IP

    }
${excluded}
    garp_master_delay 1
    garp_master_refresh $garp_refresh
${garp_repeat}
    track_interface {
        $interface
    }

    track_script {
        checkhaproxy
    }
${notify}}
""")

AUTHENTICATION = """\
    authentication {
        auth_type PASS
        auth_pass 1111
    }
"""


@dataclass(frozen=True)
class LabKeepalived:
    src: str
    peers: list[str]
    vip: str
    interface: str = "eth0"
    priority: int = 100
    advert_int: float = 1.0
    vrrp_version: int = 2
    check_command: str = "/usr/bin/curl -sf -m 1 http://127.0.0.1:8080/health"
    check_interval: float = 1.0
    notify: str | None = None
    router_id: str = "havip-lab"
    # more VIPs on the same instance (a mass failover): keepalived's excluded list, which
    # moves with the instance and is announced by GARP but not carried in the adverts
    extra_vips: tuple[str, ...] = ()
    # keepalived sends GARPs one by one (about a thousand a second here): with 1,000 VIPs
    # the page's refresh every 5 s and the default 5 GARPs per VIP per set keep it so busy
    # that it misses its own adverts and the pair flaps. A mass lab sets 0 and 1.
    garp_refresh: int = 5
    garp_repeat: int | None = None  # garp_master_repeat (keepalived's default: 5)


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _excluded(vips: tuple[str, ...]) -> str:
    if not vips:
        return ""
    return "    virtual_ipaddress_excluded {\n" + "".join(f"        {v}\n" for v in vips) + "    }\n"


def render(k: LabKeepalived) -> str:
    """The product page's configuration for one lab instance."""
    head = ["global_defs {", f"    router_id {k.router_id}", "    script_user root", "    enable_script_security"]
    if k.vrrp_version == 3:
        head.append("    vrrp_version 3")
    head.append("}")
    script = [
        "",
        "vrrp_script checkhaproxy {",
        f'    script "{k.check_command}"',
        f"    interval {_fmt(k.check_interval)}",
        "    fall 2",
        "    rise 2",
        "}",
        "",
    ]
    body = PRODUCT_PAGE_INSTANCE.substitute(
        interface=k.interface,
        priority=k.priority,
        advert_int=_fmt(k.advert_int),
        authentication=AUTHENTICATION if k.vrrp_version == 2 else "",
        src=k.src,
        peers="\n".join(f"        {p}           #对端设备的 IP 地址" for p in k.peers),
        vip=k.vip,
        excluded=_excluded(k.extra_vips),
        garp_refresh=k.garp_refresh,
        garp_repeat="" if k.garp_repeat is None else f"    garp_master_repeat {k.garp_repeat}\n",
        notify=f'    notify "{k.notify}"\n' if k.notify else "",
    )
    return "\n".join(head + script) + "\n" + body
