"""deploy/systemd/*.service carry the hardening, readiness and layout docs/install.md promises.

``tests/integration/test_systemd.py`` has systemd itself check the same files
(``systemd-analyze verify``) and a real ``havip serve`` notify readiness.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
}
RUNS = {"Type": "notify", "NotifyAccess": "main", "Restart": "on-failure"}


def directives(name: str) -> dict[str, list[str]]:
    """``Key`` -> its values in file order, over all sections (comments and blank lines dropped)."""
    found: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not Key=value: {raw!r}"
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def one(unit: dict[str, list[str]], key: str) -> str:
    values = unit.get(key, [])
    assert len(values) == 1, f"{key} is set {len(values)} times: {values}"
    return values[0]


@pytest.mark.parametrize("name", ["havip-server.service", "havip-agent.service"])
def test_both_units_are_hardened_notify_services_that_restart(name: str) -> None:
    unit = directives(name)
    for key, value in {**HARDENING, **RUNS}.items():
        assert one(unit, key) == value, f"{name}: {key}"


def test_the_server_runs_as_a_dynamic_user_with_its_state_in_a_state_directory() -> None:
    unit = directives("havip-server.service")
    assert one(unit, "ExecStart") == "/opt/havip/bin/havip serve --config /etc/havip/server.toml"
    assert one(unit, "DynamicUser") == "yes"
    assert one(unit, "StateDirectory") == "havip"
    assert "HAVIP_HOME=/var/lib/havip" in unit["Environment"]
    assert one(unit, "CapabilityBoundingSet") == "", "the server needs no capability"
    assert "User" not in unit, "DynamicUser makes the user; a fixed User= would run it as that account"


def test_the_agent_has_only_the_network_capabilities() -> None:
    unit = directives("havip-agent.service")
    assert one(unit, "ExecStart") == "/opt/havip/bin/havip agent --config /etc/havip/agent.toml"
    for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
        assert set(one(unit, key).split()) == {"CAP_NET_ADMIN", "CAP_NET_RAW"}, key
    assert "ProtectKernelTunables" not in unit, "the agent writes net.* sysctls under /proc/sys"
    families = set(one(unit, "RestrictAddressFamilies").split())
    assert {"AF_NETLINK", "AF_PACKET", "AF_INET", "AF_UNIX"} <= families
