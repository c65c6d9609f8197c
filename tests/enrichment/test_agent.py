"""User-Agents as device type, browser, OS and bot flag: real strings of each kind."""

from __future__ import annotations

import pytest

from playhead.enrichment.agent import AgentInfo, describe_agent, device_type

CASES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
        " Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        AgentInfo("mobile", "Mobile Safari", "17.4", "iOS", "17.4", False),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/16.6 Mobile/15E148 Safari/604.1",
        AgentInfo("tablet", "Mobile Safari", "16.6", "iOS", "16.6", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/124.0.6367.82 Mobile Safari/537.36",
        AgentInfo("mobile", "Chrome Mobile", "124.0", "Android", "14", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/123.0.0.0 Safari/537.36",
        AgentInfo("tablet", "Chrome", "123.0", "Android", "13", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        AgentInfo("desktop", "Edge", "124.0", "Windows", "10", False),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.4 Safari/605.1.15",
        AgentInfo("desktop", "Safari", "17.4", "Mac OS X", "10.15", False),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        AgentInfo("desktop", "Firefox", "125.0", "Ubuntu", None, False),
    ),
    (
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko)"
        " 76.0.3809.146/6.0 TV Safari/537.36",
        AgentInfo("tv", "Safari", None, "Tizen", "6.0", False),
    ),
    ("Roku4640X/DVP-7.70 (297.70E04154A)", AgentInfo("tv", None, None, None, None, False)),
    (
        "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/13.0 Safari/605.1.15",
        AgentInfo("console", "Safari", "13.0", None, None, False),
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        AgentInfo("bot", "Googlebot", "2.1", None, None, True),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/124.0.0.0 Safari/537.36",
        AgentInfo("bot", "HeadlessChrome", "124.0", "Linux", None, True),
    ),
    ("curl/8.5.0", AgentInfo("bot", "curl", "8.5", None, None, True)),
    (
        "MyPlayer/3.2 (com.example.player; build:55; iOS 17.4.1) Alamofire/5.8.0",
        AgentInfo("other", None, None, "iOS", "17.4", False),
    ),
    ("x", AgentInfo("other", None, None, None, None, False)),
]


@pytest.mark.parametrize(("user_agent", "expected"), CASES)
def test_each_kind_of_agent_is_described(user_agent: str, expected: AgentInfo) -> None:
    assert describe_agent(user_agent) == expected


def test_descriptions_are_cached_by_the_exact_string() -> None:
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/999.0 cache-probe"
    before = describe_agent.cache_info()
    first = describe_agent(agent)
    second = describe_agent(agent)
    after = describe_agent.cache_info()
    assert first is second
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


@pytest.mark.parametrize(
    ("user_agent", "kind"),
    [
        ("Mozilla/5.0 (Linux; Android 12; AFTKA) AppleWebKit/537.36", "tv"),  # Fire TV
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) Edge/44", "console"),
        ("Mozilla/5.0 (Linux; U; Android 4.0.3; KFTT) Silk/3.68", "tablet"),
        ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1) Mobile Safari", "mobile"),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) Chrome/124.0", "desktop"),
    ],
)
def test_device_classes(user_agent: str, kind: str) -> None:
    assert device_type(user_agent, is_bot=False) == kind
    assert device_type(user_agent, is_bot=True) == "bot"
