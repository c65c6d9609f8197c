"""Enrichment: what a session's first request says about its viewer, beyond the protocol.

At ``sessionStart`` only (never per event), the User-Agent gives the device type, the browser and
the operating system with their versions, and whether the client is a bot or crawler
(:mod:`.agent`); the client address gives the country and region when the operator supplies a
MaxMind-format database (:mod:`.geo`). The address is looked up and dropped: it is never part of
what is kept. The values become the session's context (stored with the session) under the
dimension names the reports filter and break down by: :data:`DIMENSIONS`.
"""

from __future__ import annotations

from playhead.enrichment.agent import AgentInfo, describe_agent
from playhead.enrichment.enricher import DIMENSIONS, Enricher
from playhead.enrichment.geo import GeoDatabase

__all__ = ["DIMENSIONS", "AgentInfo", "Enricher", "GeoDatabase", "describe_agent"]
