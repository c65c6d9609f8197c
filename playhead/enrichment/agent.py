"""The User-Agent as a device type, a browser and an operating system, and whether it is a bot.

Browsers and operating systems come from ua-parser (the maintained port of the uap-core rules,
with its compiled matcher when ``ua-parser-rs`` is installed), bots from crawlerdetect's list
plus ua-parser's ``Spider`` device. The device type is Playhead's own small classification of
the string, since neither library names one: ``bot``, ``tv``, ``console``, ``tablet``,
``mobile``, ``desktop`` or ``other``.

Parsing one new User-Agent costs tens to hundreds of microseconds, so results are cached by the
exact string: a real audience uses a few thousand distinct ones.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import msgspec
import ua_parser
from crawlerdetect import CrawlerDetect  # type: ignore[import-untyped]

# Most distinct User-Agents whose description is kept (about 1 KiB each at most).
CACHE_SIZE: Final = 16384

_TV: Final = re.compile(
    r"smart-?tv|hbbtv|appletv|apple tv|crkey|roku|googletv|android tv|\baft[a-z]|bravia"
    r"|web0s|netcast|tizen.*\btv\b|\btv\b.*tizen|viera|philipstv|dtv",
    re.IGNORECASE,
)
_CONSOLE: Final = re.compile(r"playstation|xbox|nintendo", re.IGNORECASE)
_TABLET: Final = re.compile(r"ipad|tablet|kindle|silk/|playbook|\bsm-t\d", re.IGNORECASE)
_MOBILE: Final = re.compile(
    r"mobile|iphone|ipod|windows phone|blackberry|opera mini|iemobile", re.IGNORECASE
)
_DESKTOP: Final = re.compile(r"windows nt|macintosh|x11|cros|linux", re.IGNORECASE)
_ANDROID: Final = re.compile(r"android", re.IGNORECASE)

_crawlers = CrawlerDetect()


class AgentInfo(msgspec.Struct, frozen=True):
    """What one User-Agent string says (``None`` where it says nothing)."""

    device_type: str
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    is_bot: bool


def _version(major: str | None, minor: str | None) -> str | None:
    if not major:
        return None
    return f"{major}.{minor}" if minor else major


def device_type(user_agent: str, is_bot: bool) -> str:
    """Playhead's device class of a User-Agent (the first rule that matches wins)."""
    if is_bot:
        return "bot"
    if _TV.search(user_agent):
        return "tv"
    if _CONSOLE.search(user_agent):
        return "console"
    if _TABLET.search(user_agent):
        return "tablet"
    if _ANDROID.search(user_agent):
        # Android phones say "Mobile"; Android tablets do not
        return "mobile" if "mobile" in user_agent.lower() else "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "other"


def _family(name: str) -> str | None:
    return None if name == "Other" else name


@lru_cache(maxsize=CACHE_SIZE)
def describe_agent(user_agent: str) -> AgentInfo:
    """Describe one User-Agent string (cached by the exact string)."""
    parsed = ua_parser.parse(user_agent)
    agent, os_, device = parsed.user_agent, parsed.os, parsed.device
    is_bot = bool(_crawlers.isCrawler(user_agent)) or (
        device is not None and device.family == "Spider"
    )
    return AgentInfo(
        device_type=device_type(user_agent, is_bot),
        browser=_family(agent.family) if agent else None,
        browser_version=_version(agent.major, agent.minor) if agent else None,
        os=_family(os_.family) if os_ else None,
        os_version=_version(os_.major, os_.minor) if os_ else None,
        is_bot=is_bot,
    )
