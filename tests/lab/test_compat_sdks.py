"""The lab's HaVip through the official Alibaba and Tencent SDKs: a real failover moves the holder.

The lab's control plane listens on a unix socket; the SDKs speak TCP, so the test
bridges 127.0.0.1:<ephemeral port> to that socket byte for byte (the signatures,
which cover the Host header, pass unchanged). The keys come from the lab's
credentials file; the SDKs use the lab's region, ``local``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_vpc20160428 import models as ali_models
from alibabacloud_vpc20160428.client import Client as AliClient
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import models as tc_models
from tencentcloud.vpc.v20170312 import vpc_client

from havip.api.compat.tencent import idmap
from havip.client import HavipClient

from .labkit import Lab, build

pytestmark = pytest.mark.lab

REGION = "local"  # the lab's control plane serves the default region


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


class _Pipe(socketserver.BaseRequestHandler):
    """One TCP connection, copied both ways to a new connection on the unix socket."""

    server: _Bridge

    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.connect(str(self.server.target))
            back = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
            back.start()
            _copy(self.request, upstream)
            back.join(timeout=30)


class _Bridge(socketserver.ThreadingTCPServer):
    daemon_threads = True
    target: Path


def _copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def bridge(target: Path) -> Iterator[str]:
    """127.0.0.1:<port> -> ``target`` (a unix socket) while in the block; yields ``host:port``."""
    server = _Bridge(("127.0.0.1", 0), _Pipe)
    server.target = target
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1)


def test_both_sdks_see_the_holder_change_after_a_failover(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    tenant_token = json.loads(lab.paths.credentials.read_text())["tenant_token"]
    with HavipClient(f"unix://{lab.paths.api_socket}", tenant_token) as native:
        key = native.create("access-keys", {"description": "lab SDK test"})
    status = lab.status()
    havip_id = status["havip_id"]
    instance_of = {i["name"]: i["instance_id"] for i in status["instances"]}

    with bridge(lab.paths.api_socket) as endpoint:
        ali = AliClient(
            open_api_models.Config(
                access_key_id=key["id"],
                access_key_secret=key["secret"],
                region_id=REGION,
                endpoint=endpoint,
                protocol="http",
            )
        )
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
        tencent = vpc_client.VpcClient(credential.Credential(key["id"], key["secret"]), REGION, profile)

        def holders() -> tuple[str, str, str]:
            """(Alibaba MasterInstanceId, Tencent InstanceId, Tencent State)."""
            flt = ali_models.DescribeHaVipsRequestFilter(key="HaVipId", value=[havip_id])
            [seen] = ali.describe_ha_vips(
                ali_models.DescribeHaVipsRequest(region_id=REGION, filter=[flt])
            ).body.ha_vips.ha_vip
            request = tc_models.DescribeHaVipsRequest()
            request.HaVipIds = [havip_id]
            [held] = tencent.DescribeHaVips(request).HaVipSet
            return seen.master_instance_id, held.InstanceId, held.State

        old = status["holder"]
        assert holders() == (instance_of[old], idmap.tencent_id(instance_of[old]), "AVAILABLE")
        result = lab.failover("kill")
        new = result["new_holder"]
        assert new != old
        wait_until(lambda: holders() == (instance_of[new], idmap.tencent_id(instance_of[new]), "AVAILABLE"))
