"""Two more clients of the cloud facades, driven as the scripts that use them drive them.

- ``Tccli``: Tencent's own CLI (``tccli``), run as a subprocess the way a shell script
  runs it: a profile written by ``tccli configure set`` (region, output) in a HOME of
  its own, the SecretId and SecretKey in ``TENCENTCLOUD_SECRET_ID`` and
  ``TENCENTCLOUD_SECRET_KEY``, and ``--endpoint http://127.0.0.1:PORT`` on every call.
- ``AliyunV1``: Alibaba's older SDK (``aliyun-python-sdk-core`` with
  ``aliyun-python-sdk-vpc``): ``AcsClient`` and one request class per action, RPC
  style, signature version 1.0 (HMAC-SHA1), the endpoint given with ``add_endpoint``.

Both are dev dependencies (``pyproject.toml``); a missing client fails the test that
needs it (the import here, or ``Tccli`` not finding its executable), it never skips.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient

from .cloudkit import ALI_REGION, TC_REGION, CloudKit

# the variables a user's own tccli set-up could bring into the test
_FOREIGN = re.compile(r"^(TENCENTCLOUD_|TCCLI_|HTTPS?_PROXY$|ALL_PROXY$)", re.IGNORECASE)
_TC_ERROR = re.compile(r"code:(?P<code>\S+) message:(?P<message>.*?) requestId:(?P<request_id>\S*)", re.DOTALL)


def tccli_executable() -> Path:
    """The ``tccli`` beside this interpreter (the venv's); fails, not skips, when it is missing."""
    exe = Path(sys.executable).with_name("tccli")
    assert exe.is_file(), f"tccli is not installed at {exe}: run pip install -e '.[dev]'"
    return exe


class Tccli:
    """``tccli vpc ACTION --Param value ...`` against havip, with one account's AccessKey."""

    def __init__(self, cloud: CloudKit, home: Path, *, key_id: str | None = None, secret: str | None = None) -> None:
        self.exe = tccli_executable()
        self.endpoint = f"http://{cloud.endpoint}"
        env = {k: v for k, v in os.environ.items() if not _FOREIGN.match(k)}
        env |= {
            "HOME": str(home),
            "NO_PROXY": "127.0.0.1",
            "TENCENTCLOUD_SECRET_ID": key_id or cloud.key_id,
            "TENCENTCLOUD_SECRET_KEY": secret or cloud.secret,
        }
        self.env = env
        configured = self._run("configure", "set", "region", TC_REGION, "output", "json")
        assert configured.returncode == 0, configured.stderr

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.exe), *args], env=self.env, capture_output=True, text=True, timeout=60)

    def run(self, action: str, **params: Any) -> subprocess.CompletedProcess[str]:
        """One call; a string parameter goes as it is, anything else as JSON (tccli's form for lists)."""
        args = ["vpc", action, "--endpoint", self.endpoint]
        for name, value in params.items():
            args += [f"--{name}", value if isinstance(value, str) else json.dumps(value)]
        return self._run(*args)

    def __call__(self, action: str, **params: Any) -> Any:
        done = self.run(action, **params)
        assert done.returncode == 0, f"tccli vpc {action} failed: {done.stdout}{done.stderr}"
        return json.loads(done.stdout)

    def error(self, action: str, **params: Any) -> dict[str, str]:
        """The call fails: tccli's ``code``, ``message`` and ``request_id`` of the cloud's error."""
        done = self.run(action, **params)
        assert done.returncode != 0, f"tccli vpc {action} succeeded: {done.stdout}"
        found = _TC_ERROR.search(done.stdout + done.stderr)
        assert found, f"tccli printed no cloud error: {done.stdout}{done.stderr}"
        return found.groupdict()


class AliyunV1:
    """Alibaba's older SDK: ``AcsClient`` and ``aliyunsdkvpc`` request classes (HMAC-SHA1 RPC)."""

    def __init__(self, cloud: CloudKit, *, key_id: str | None = None, secret: str | None = None) -> None:
        host, port = cloud.endpoint.rsplit(":", 1)
        self.client = AcsClient(key_id or cloud.key_id, secret or cloud.secret, ALI_REGION, port=int(port))
        self.client.add_endpoint(ALI_REGION, "Vpc", host)

    def request(self, action: str, **params: Any) -> Any:
        """The SDK's request for ``action``, each parameter through its setter (``set_VSwitchId``...)."""
        module = importlib.import_module(f"aliyunsdkvpc.request.v20160428.{action}Request")
        request = getattr(module, f"{action}Request")()
        request.set_protocol_type("http")
        for name, value in params.items():
            getattr(request, f"set_{name}")(value)
        return request

    def __call__(self, action: str, **params: Any) -> Any:
        return json.loads(self.client.do_action_with_exception(self.request(action, **params)))

    def error(self, action: str, **params: Any) -> ServerException:
        with pytest.raises(ServerException) as info:
            self(action, **params)
        return info.value
