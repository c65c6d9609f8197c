"""The dashboard's pages as HTTP: the shell, its assets (vendored, nothing from elsewhere)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from starlette.testclient import TestClient

from playhead.http.dashboard import UPLOT_VERSION

STATIC = Path(str(resources.files("playhead") / "static"))


def test_shell_is_served_with_its_assets(client: TestClient) -> None:
    response = client.get("/dashboard?from=2026-12-01&filter=media.id:m1&tab=qoe")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    page = response.text
    assert f'src="/static/vendor/uPlot-{UPLOT_VERSION}.iife.min.js"' in page
    assert f'href="/static/vendor/uPlot-{UPLOT_VERSION}.min.css"' in page
    assert 'src="/static/dashboard/main.js"' in page
    assert 'data-login="false"' in page
    assert "{{" not in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_session_page_is_the_same_shell(client: TestClient) -> None:
    page = client.get(f"/dashboard/sessions/{'a' * 64}")
    assert page.status_code == 200
    assert page.text == client.get("/dashboard").text


def test_shell_says_when_login_is_in_use(make_client: object) -> None:
    client = make_client(read_token="t")  # type: ignore[operator]
    page = client.get("/dashboard", headers={"Authorization": "Bearer t"})
    assert page.status_code == 200
    assert 'data-login="true"' in page.text


def test_every_module_the_page_imports_is_served(client: TestClient) -> None:
    folder = STATIC / "dashboard"
    modules = sorted(p.name for p in folder.glob("*.js"))
    assert modules == ["api.js", "charts.js", "dom.js", "main.js", "panels.js", "session.js"]
    for name in modules:
        text = (folder / name).read_text()
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert (folder / imported).exists(), (name, imported)
        response = client.get(f"/static/dashboard/{name}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]


def test_nothing_is_loaded_from_another_site() -> None:
    """No CDN: the dashboard's own files name no other origin to load from."""
    for path in (STATIC / "dashboard").iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href|import|url)\s*[=(]?\s*["']?(https?:)?//""", text), path


def test_uplot_is_vendored_with_its_version_and_licence() -> None:
    vendor = STATIC / "vendor"
    names = sorted(p.name for p in vendor.iterdir() if p.name.startswith("uPlot"))
    assert names == [
        f"uPlot-{UPLOT_VERSION}.LICENSE",
        f"uPlot-{UPLOT_VERSION}.iife.min.js",
        f"uPlot-{UPLOT_VERSION}.min.css",
    ]
    assert (vendor / f"uPlot-{UPLOT_VERSION}.LICENSE").read_text().startswith("The MIT License")
    assert "uPlot" in (vendor / f"uPlot-{UPLOT_VERSION}.iife.min.js").read_text()[:2000]
