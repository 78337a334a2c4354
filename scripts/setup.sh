#!/usr/bin/env bash
# Sets up a fresh Debian machine for havip: system packages and the Python venv.
# Idempotent: run it as often as you like. Needs root for apt (the lab and the
# kernel tests need root anyway).
#   --bench   also what `make bench` alone needs: Open vSwitch and OVN (benchmark #7,
#             the OVN peer; its daemons run only inside the benchmark's namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(keepalived nftables iproute2 iputils-ping arping tcpdump curl postgresql iperf3 python3-venv systemd)
# systemd: systemd-analyze verify checks deploy/systemd/*.service (tests/integration/test_systemd.py)
BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
if ((BENCH)); then APT_PACKAGES+=(openvswitch-switch ovn-central ovn-host ethtool); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "error: installing packages needs root (try: sudo $0)" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # keepalived's package starts a system service; havip runs its own instances in namespaces.
  systemctl disable --now keepalived >/dev/null 2>&1 || true
  # so does postgresql's; the tests run a throwaway cluster of their own (tests/integration/pg.py).
  systemctl disable --now postgresql >/dev/null 2>&1 || true
  # and Open vSwitch's and OVN's: benchmark #7 runs its own daemons inside namespaces,
  # never in the root namespace of this machine.
  for unit in openvswitch-switch ovs-vswitchd ovsdb-server ovn-central ovn-host ovn-northd ovn-controller \
      ovn-ovsdb-server-nb ovn-ovsdb-server-sb; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
else
  echo "==> Debian packages present"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
echo "==> installing havip and its Python dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
echo "==> ready: .venv/bin/havip --help"
