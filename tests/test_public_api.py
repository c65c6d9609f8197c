"""The package's public names and version."""

from __future__ import annotations

import importlib.metadata

import pytest

import playhead


@pytest.mark.parametrize("name", playhead.__all__)
def test_all_names_resolve(name: str) -> None:
    assert getattr(playhead, name) is not None


def test_all_is_what_was_promised() -> None:
    assert set(playhead.__all__) == {"Settings", "__version__", "create_app", "load_settings"}
    from playhead.app import create_app
    from playhead.config import Settings, load_settings

    assert playhead.create_app is create_app
    assert playhead.Settings is Settings
    assert playhead.load_settings is load_settings


def test_version_matches_metadata() -> None:
    assert playhead.__version__ == importlib.metadata.version("playhead")


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        playhead.nothing  # noqa: B018
