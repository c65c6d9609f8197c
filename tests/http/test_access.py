"""Read and admin access: tokens, the login cookie, and serve's refusal off loopback."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient

from playhead.cli import cli
from playhead.config import load_settings
from playhead.errors import ConfigError
from playhead.http.access import (
    COOKIE,
    Access,
    admin_guard,
    check_exposure,
    cookie_value,
    is_loopback,
    read_guard,
    split_tokens,
)

MakeClient = Callable[..., TestClient]
SID = "0" * 64


def _error(response: object) -> dict[str, object]:
    body: dict[str, object] = json.loads(response.content)  # type: ignore[attr-defined]
    return body


def test_split_tokens_drops_blanks_and_spaces() -> None:
    assert split_tokens(" a, b,,c ,") == ("a", "b", "c")
    assert split_tokens("") == ()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_refused_off_loopback_without_token() -> None:
    with pytest.raises(ConfigError) as info:
        check_exposure(load_settings({"host": "0.0.0.0"}, {}))
    message = str(info.value)
    assert "--read-token" in message and "PLAYHEAD_READ_TOKEN" in message
    assert "--public-reports" in message


@pytest.mark.parametrize(
    "explicit",
    [
        {"host": "127.0.0.1"},
        {"host": "0.0.0.0", "read_token": "t"},
        {"host": "0.0.0.0", "public_reports": True},
    ],
)
def test_exposure_allowed(explicit: dict[str, object]) -> None:
    check_exposure(load_settings(explicit, {}))  # does not raise


def test_serve_refuses_to_start_off_loopback(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--db", ":memory:"])
    assert result.exit_code == 2
    assert "--read-token" in result.output
    assert result.output.count("\n") == 1  # one line, no traceback


def test_env_tokens_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({}, {"PLAYHEAD_READ_TOKEN": "a,b", "PLAYHEAD_ADMIN_TOKEN": "z"})
    access = Access.from_settings(settings)
    assert access.read_tokens == ("a", "b")
    assert access.admin_tokens == ("z",)
    assert access.login_needed is True


def test_loopback_without_token_is_open(client: TestClient) -> None:
    assert client.get(f"/reports/sessions/{SID}").status_code == 404  # reached the endpoint
    assert client.get("/dashboard").status_code == 200


def test_missing_token_is_401_with_error_shape(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret,other")
    response = client.get(f"/reports/sessions/{SID}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="playhead"'
    assert response.headers["content-type"] == "application/json"
    assert _error(response) == {
        "message": "A read token is required.",
        "errors": [{"path": "header.Authorization", "problem": "missing: send Bearer TOKEN"}],
    }


@pytest.mark.parametrize(
    "header", ["Bearer wrong", "Bearer ", "Basic czNjcmV0", "Bearer s3cre", "Bearer s3cret2"]
)
def test_wrong_token_is_401(make_client: MakeClient, header: str) -> None:
    client = make_client(read_token="s3cret")
    response = client.get(f"/reports/sessions/{SID}", headers={"Authorization": header})
    assert response.status_code == 401
    assert _error(response)["message"] == "The read token is not valid."


@pytest.mark.parametrize("token", ["s3cret", "other"])
def test_each_configured_token_reads(make_client: MakeClient, token: str) -> None:
    client = make_client(read_token="s3cret, other")
    response = client.get(f"/reports/sessions/{SID}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert _error(response)["message"] == "Session not found."


@pytest.mark.parametrize(
    "path",
    [
        "/reports/summary",
        "/reports/sessions",
        "/reports/sessions.csv",
        "/reports/errors",
        f"/reports/sessions/{SID}/events",
        "/metrics",
    ],
)
def test_every_data_path_is_guarded(make_client: MakeClient, path: str) -> None:
    client = make_client(read_token="s3cret")
    assert client.get(path).status_code == 401
    # with the token the request reaches routing (an endpoint that does not exist yet is 404)
    assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code != 401


def test_ingest_and_static_stay_open(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    assert client.get("/api/v1/schemas/ping").status_code == 200
    assert client.get("/static/playhead.js").status_code == 200
    assert client.get("/static/dashboard/main.js").status_code == 200
    assert client.get("/dashboard/login").status_code == 200


def test_non_loopback_server_without_token_lets_nobody_read(make_client: MakeClient) -> None:
    client = make_client(host="0.0.0.0")
    response = client.get(f"/reports/sessions/{SID}", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert "no read token" in str(_error(response)["message"])
    assert make_client(host="0.0.0.0", public_reports=True).get("/dashboard").status_code == 200


def test_dashboard_without_token_answers_the_login_form(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    response = client.get("/dashboard?from=2026-12-01&filter=media.id:m1")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/dashboard/login"' in page
    assert 'type="password"' in page
    assert 'value="/dashboard?from=2026-12-01&amp;filter=media.id:m1"' in page
    assert "s3cret" not in page


def test_login_sets_httponly_strict_cookie_and_redirects(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    response = client.post(
        "/dashboard/login",
        content=b"token=s3cret&next=%2Fdashboard%3Ftab%3Dlive",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?tab=live"
    assert "s3cret" not in response.headers["location"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={cookie_value('s3cret')};")
    assert "s3cret;" not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    # the cookie now reads the reports and the dashboard
    assert client.get(f"/reports/sessions/{SID}").status_code == 404
    assert client.get("/dashboard").status_code == 200
    # and signing out forgets it
    assert client.post("/dashboard/logout", follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get("/dashboard").status_code == 401


def test_login_with_wrong_token_shows_the_form_again(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    response = client.post("/dashboard/login", data={"token": "nope"}, follow_redirects=False)
    assert response.status_code == 401
    assert "That is not a valid read token." in response.text
    assert "set-cookie" not in response.headers


def test_login_never_redirects_off_the_dashboard(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    for target in ("https://evil.example/", "//evil.example/dashboard", "/reports/summary"):
        response = client.post(
            "/dashboard/login", data={"token": "s3cret", "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/dashboard"


def test_forged_cookie_is_refused(make_client: MakeClient) -> None:
    client = make_client(read_token="s3cret")
    client.cookies.set(COOKIE, "s3cret")  # the token itself is not the cookie's value
    assert client.get(f"/reports/sessions/{SID}").status_code == 401
    client.cookies.set(COOKIE, cookie_value("other"))
    assert client.get("/dashboard").status_code == 401


def _guarded_app(read: str = "", admin: str = "") -> TestClient:
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def secret(request: Request) -> Response:
        """Docstring kept."""
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/read", read_guard(secret)),
            Route("/admin", admin_guard(secret), methods=["DELETE"]),
        ]
    )
    app.state.access = Access(split_tokens(read), split_tokens(admin), open_reads=True)
    assert read_guard(secret).__doc__ == "Docstring kept."
    return TestClient(app)


def test_read_guard_wraps_an_endpoint() -> None:
    client = _guarded_app(read="r1")
    assert client.get("/read").status_code == 401
    assert client.get("/read", headers={"Authorization": "Bearer r1"}).json() == {"ok": True}


def test_admin_guard() -> None:
    disabled = _guarded_app().delete("/admin", headers={"Authorization": "Bearer x"})
    assert disabled.status_code == 403
    assert "--admin-token" in _error(disabled)["message"]  # type: ignore[operator]
    client = _guarded_app(read="r1", admin="a1,a2")
    assert client.delete("/admin").status_code == 401
    assert client.delete("/admin", headers={"Authorization": "Bearer r1"}).status_code == 401
    assert client.delete("/admin", headers={"Authorization": "Bearer a2"}).json() == {"ok": True}


def test_guard_without_access_state_is_closed() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def secret(request: Request) -> Response:
        return JSONResponse({"ok": True})

    client = TestClient(Starlette(routes=[Route("/read", read_guard(secret))]))
    assert client.get("/read").status_code == 401
