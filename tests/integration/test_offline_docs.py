"""``/docs`` works with no internet: Swagger UI's files come from the installed package and the
page names no address outside the server (issue 12)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


def test_docs_load_nothing_from_outside(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    outside = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]?(https?://[^'"\s)]+)""", page.text)
    assert outside == [], f"/docs loads from outside the server: {outside}"
    assert "https://" not in page.text and "http://" not in page.text
    assets = re.findall(r"""['"](/docs/assets/[^'"]+)['"]""", page.text)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert kinds[asset[asset.rindex(".") :]] in answer.headers["content-type"], asset
        assert len(answer.content) > 100
    assert client.get("/openapi.json").status_code == 200
