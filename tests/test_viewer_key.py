"""The viewer key of a session (aggregates: uniqueViewers, the ``viewer`` dimension)."""

from __future__ import annotations

from playhead.events import viewer_key


def test_the_first_non_empty_viewer_param_in_order() -> None:
    assert viewer_key({"analytics.aid": "a", "analytics.visitorId": "v"}) == "v"
    assert viewer_key({"visitor.marketingCloudUserId": "m", "analytics.visitorId": "v"}) == "m"
    assert viewer_key({"visitor.marketingCloudUserId": "", "analytics.aid": "a"}) == "a"


def test_no_viewer_param_is_none() -> None:
    assert viewer_key({"media.id": "x", "appInstallationId": "i"}) is None
    assert viewer_key({"analytics.visitorId": ""}) is None
    assert viewer_key({"analytics.visitorId": 5}) is None
