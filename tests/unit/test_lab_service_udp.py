"""The lab service's UDP loop outlives an answer that cannot be sent (pure: a fake socket).

A graceful keepalived stop takes the VIP away while a request is being answered; the
send fails (ENETUNREACH) and the loop used to die with it, leaving an instance that
passed its health check yet never answered the client again.
"""

from __future__ import annotations

import errno
import threading
from typing import Any

import pytest

from havip.lab.service import udp_loop

pytestmark = pytest.mark.unit


class FakeUdp:
    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.sent: list[bytes] = []
        self.done = threading.Event()

    def setsockopt(self, *_: Any) -> None:
        pass

    def recvmsg(self, *_: Any) -> tuple[bytes, list[Any], int, tuple[str, int]]:
        if not self.requests:
            self.done.set()
            threading.Event().wait()  # the loop blocks here, as on a real idle socket
        return self.requests.pop(0), [], 0, ("172.17.16.20", 40000)

    def sendto(self, data: bytes, _peer: tuple[str, int]) -> None:
        if data.endswith(b"1"):
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        self.sent.append(data)


def test_a_failed_answer_does_not_end_the_loop() -> None:
    fake = FakeUdp([b"1", b"2"])
    threading.Thread(target=udp_loop, args=("i1", fake, {}), daemon=True).start()
    assert fake.done.wait(5)
    assert fake.sent == [b"i1 2"]
