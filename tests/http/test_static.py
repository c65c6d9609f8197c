"""The tracker at /static/playhead.js loads from any origin, cached, also at a versioned URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from playhead import __version__

ROOT = Path(__file__).resolve().parents[2]
TRACKER = (ROOT / "clients" / "js" / "playhead.js").read_bytes()
ORIGIN = {"Origin": "https://some-other-site.example"}


@pytest.mark.parametrize(
    ("url", "cache"),
    [
        ("/static/playhead.js", "public, max-age=300"),
        (f"/static/playhead-{__version__}.js", "public, max-age=31536000, immutable"),
    ],
)
def test_tracker_is_served_to_any_origin_with_a_cache_policy(
    client: TestClient, url: str, cache: str
) -> None:
    response = client.get(url, headers=ORIGIN)
    assert response.status_code == 200
    assert response.content == TRACKER
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.headers["cache-control"] == cache
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["etag"].startswith('"')


def test_both_urls_answer_the_same_file_and_etag(client: TestClient) -> None:
    plain = client.get("/static/playhead.js")
    versioned = client.get(f"/static/playhead-{__version__}.js")
    assert plain.content == versioned.content == TRACKER
    assert plain.headers["etag"] == versioned.headers["etag"]


def test_a_matching_if_none_match_answers_304_with_the_same_headers(client: TestClient) -> None:
    etag = client.get("/static/playhead.js").headers["etag"]
    again = client.get("/static/playhead.js", headers={"If-None-Match": f'"other", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["access-control-allow-origin"] == "*"
    assert again.headers["cache-control"] == "public, max-age=300"
    stale = client.get("/static/playhead.js", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200
    assert stale.content == TRACKER


def test_head_gives_the_headers(client: TestClient) -> None:
    response = client.head(f"/static/playhead-{__version__}.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["access-control-allow-origin"] == "*"


def test_another_version_of_the_tracker_is_not_found(client: TestClient) -> None:
    assert client.get("/static/playhead-0.0.0-nope.js").status_code == 404


def test_other_static_files_are_still_served(client: TestClient) -> None:
    response = client.get("/static/demo.webm")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/webm"
    # only the tracker is meant for other origins
    assert "access-control-allow-origin" not in response.headers
