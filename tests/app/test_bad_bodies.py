"""Bodies that JSON allows but no answer could carry, on every POST route: a lone surrogate (the 422 that echoed
it could not be encoded: a 500) and nesting hundreds of levels deep (past what an encoder writes)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

ROUTES = ["/profile", "/compare", "/sweep"]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def _post(client: TestClient, path: str, raw: str):
    return client.post(path, content=raw.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    "raw",
    [
        '{"preset": "mobilenet_v2", "name": "\\ud800"}',
        '{"base": {"preset": "mobilenet_v2"}, "grid": {"name": ["x\\udfffy"]}}',
        '{"a": {"preset": "mobilenet_v2"}, "b": {"preset": "mobilenet_v2", "n\\ud83dame": 1}}',
    ],
)
def test_a_lone_surrogate_is_a_422_that_says_so(client: TestClient, path: str, raw: str) -> None:
    r = _post(client, path, raw)
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    assert problem["type"] == "json_invalid" and "surrogate" in problem["ctx"]["error"]


@pytest.mark.parametrize("path", ROUTES)
def test_deep_nesting_is_a_422(client: TestClient, path: str) -> None:
    deep = "[" * 400 + "]" * 400
    raw = f'{{"base": {{"preset": "mobilenet_v2"}}, "points": [{{"name": {deep}}}], "preset": {deep}}}'
    r = _post(client, path, raw)
    assert r.status_code == 422, r.text
    assert "nested deeper than" in r.json()["detail"][0]["ctx"]["error"]


def test_a_surrogate_pair_is_a_character(client: TestClient) -> None:
    r = _post(client, "/profile", '{"preset": "mobilenet_v3_small", "resolution": 64, "name": "\\ud83d\\ude00"}')
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "😀"
