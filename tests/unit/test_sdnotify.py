"""``havip.cli.sdnotify.notify``: the datagram systemd reads, on a real unix socket."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from havip.cli.sdnotify import notify, notify_when

pytestmark = pytest.mark.unit


def test_notify_sends_one_datagram_to_the_socket_path(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert notify("READY=1", {"NOTIFY_SOCKET": str(path)}) is True
        sock.settimeout(5)
        assert sock.recv(100) == b"READY=1"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"havip-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name}) is True
        sock.settimeout(5)
        assert sock.recv(100) == b"STOPPING=1"


def test_without_systemd_notify_does_nothing_and_a_dead_socket_is_not_fatal(tmp_path: Path) -> None:
    assert notify("READY=1", {}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")}) is False


def test_notify_when_waits_for_the_condition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "n.sock"
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    ready = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.3)
        thread = notify_when(ready.is_set, threading.Event(), interval=0.01)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # not ready: nothing sent
        ready.set()
        sock.settimeout(5)
        assert sock.recv(100) == b"READY=1"
        thread.join(5)
        assert not thread.is_alive()
