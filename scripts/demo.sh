#!/usr/bin/env bash
# The main job: set this machine up, then a HaVip fails over for real between two
# keepalived instances, as the Tencent product page describes it. The lab builds the
# page's scenario (VPC, subnet 172.17.16.0/24, members 172.17.16.7 and 172.17.16.13,
# HaVip 172.17.16.3, a client probing it) in network namespaces, with a real control
# plane, on three hosts (host namespaces on an underlay bridge, VXLAN between them, an
# agent each: i1 on host 1, i2 on host 2, the client on host 3); then one failover each
# way between the hosts (a real crash of keepalived), the lab's status, and everything
# removed again. Run as root.
# Options go to `havip lab up` (e.g. --advert-int 0.1 for VRRPv3 sub-second failover).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "error: the lab needs root (network namespaces, keepalived)" >&2; exit 1; fi
bash scripts/setup.sh
name=demo
havip() { echo; echo "\$ havip $*"; .venv/bin/havip "$@"; }
trap '.venv/bin/havip lab down --name "$name" >/dev/null 2>&1 || true' EXIT
havip lab up --name "$name" --hosts 3 "$@"
havip lab status --name "$name"
havip lab failover --name "$name" --mode kill
havip lab failover --name "$name" --mode kill
havip lab status --name "$name"
havip lab down --name "$name"
trap - EXIT
