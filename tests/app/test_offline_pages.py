"""Every page the service serves works on a host with no way out: the dashboard, /docs and /redoc reference
no other host, and every asset they name is served by the service itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

PAGES = ["/", "/docs", "/redoc", "/docs/oauth2-redirect"]
ANY_HOST = re.compile(r"""(?:https?:)?//[\w.-]+""")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href"} and v]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.mark.parametrize("path", PAGES)
def test_a_page_names_no_other_host_and_its_assets_are_served(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert ANY_HOST.findall(r.text.replace("http://www.w3.org/", "")) == [], "a URL with a host"
    parser = _Assets()
    parser.feed(r.text)
    for url in parser.urls:
        assert url.startswith(("/", "data:")) or not re.match(r"^[a-z]+:", url), url
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url


def test_the_stylesheets_fetch_nothing_from_elsewhere(client: TestClient) -> None:
    for css in ("/static/dashboard.css", "/static/vendor/swagger-ui.css"):
        text = client.get(css).text
        assert not re.findall(r"""url\(\s*['"]?(?:https?:)?//""", text), css
        assert "@import" not in text, css
