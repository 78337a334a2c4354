#!/usr/bin/env bash
# The main job on one machine. Until the lab lands (issue 4) it walks the control
# plane through the product page's scenario: a VPC, subnet 172.17.16.0/24, two
# instances 172.17.16.7 and 172.17.16.13, HaVip 172.17.16.3 bound to both, and the
# keepalived.conf each member should run. Everything lives in a throwaway HAVIP_HOME
# and a server on 127.0.0.1, stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HAVIP_HOME; HAVIP_HOME=$(mktemp -d /tmp/havip-demo.XXXXXX)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HAVIP_SERVER="http://127.0.0.1:$port"
.venv/bin/havip serve --listen "127.0.0.1:$port" >"$HAVIP_HOME/serve.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$HAVIP_HOME"; }
trap cleanup EXIT
for _ in $(seq 100); do
  .venv/bin/python -c "import httpx,sys; httpx.get('$HAVIP_SERVER/healthz').raise_for_status()" 2>/dev/null && break
  sleep 0.1
done
hv() { echo "\$ havip $*" >&2; .venv/bin/havip "$@"; }
id_of() { .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
vpc=$(hv --json vpc create --cidr 172.17.0.0/16 --name demo | id_of)
subnet=$(hv --json subnet create --vpc "$vpc" --cidr 172.17.16.0/24 --name web | id_of)
i1=$(hv --json instance create --subnet "$subnet" --ip 172.17.16.7 --name i1 | id_of)
i2=$(hv --json instance create --subnet "$subnet" --ip 172.17.16.13 --name i2 | id_of)
havip=$(hv --json havip create --subnet "$subnet" --ip 172.17.16.3 --name web-vip | id_of)
hv havip associate "$havip" --instance "$i1" >/dev/null
hv havip associate "$havip" --instance "$i2" >/dev/null
hv havip show "$havip"
hv havip events "$havip"
hv keepalived render --havip "$havip" --instance "$i1"
