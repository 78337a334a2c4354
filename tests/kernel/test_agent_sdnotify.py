"""``havip agent`` under ``Type=notify``: READY=1 only once its first reconcile is applied."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .cloud import AgentPair
from .netlab import sh

pytestmark = pytest.mark.kernel


def test_agent_notifies_ready_after_its_first_reconcile_and_stopping_on_sigterm(pair: AgentPair) -> None:
    p = pair
    scratch = Path(tempfile.mkdtemp(prefix="havip-sd-"))  # short: unix socket paths hold 108 bytes
    havip = os.path.join(os.path.dirname(sys.executable), "havip")
    env = {**os.environ, "HAVIP_AGENT_TOKEN": p.token, "NOTIFY_SOCKET": str(scratch / "notify.sock")}
    cmd = [havip, "agent", "--server", p.cloud.url, "--host", p.host, "--netns", p.lab.host, "--resync", "5"]
    assert "havip:" not in sh("ip", "-d", "link", "show", "p-i1", ns=p.lab.host)  # nothing built yet
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(scratch / "notify.sock"))
        sock.settimeout(60)
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert sock.recv(100) == b"READY=1"
            # ready means the data plane of the desired state is in the kernel: the port is adopted
            assert "havip:" in sh("ip", "-d", "link", "show", "p-i1", ns=p.lab.host)
            proc.send_signal(signal.SIGTERM)
            assert sock.recv(100) == b"STOPPING=1"
            assert proc.wait(timeout=40) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            _out, err = proc.communicate(timeout=40)
            shutil.rmtree(scratch, ignore_errors=True)
    assert '"reconciled"' in err, err[-2000:]
