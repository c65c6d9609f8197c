"""Playhead: a self-hosted media analytics server for the Streaming Media Collection API.

The package root stays light (no server imports) so that ``playhead.client`` can be used with
the standard library alone; the server pieces are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "create_app", "load_settings"]

if TYPE_CHECKING:
    from playhead.app import create_app
    from playhead.config import Settings, load_settings


def __getattr__(name: str) -> Any:
    """Load the server-side public names lazily."""
    if name == "create_app":
        from playhead.app import create_app

        return create_app
    if name in ("Settings", "load_settings"):
        from playhead import config

        return getattr(config, name)
    raise AttributeError(f"module 'playhead' has no attribute {name!r}")
