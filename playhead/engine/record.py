"""A compact, read-only mapping for the sessionStart's params and custom metadata.

Every open session keeps its sessionStart's params and customMetadata for its report. As dicts
they are the largest part of a live session; as a tuple of values beside a tuple of keys that
sessions with the same keys share, they take about a quarter of the room (bench/memory.py).
"""

from __future__ import annotations

from typing import Any

# Key tuples shared between records; bounded, since keys come from clients.
_KEYSETS: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_KEYSETS = 4096


class Record:
    """An immutable mapping stored as shared keys and a tuple of values."""

    __slots__ = ("_keys", "_values")

    def __init__(self, mapping: dict[str, Any]) -> None:
        keys = tuple(mapping)
        shared = _KEYSETS.get(keys)
        if shared is None:
            if len(_KEYSETS) < _MAX_KEYSETS:
                _KEYSETS[keys] = keys
            shared = keys
        self._keys = shared
        self._values = tuple(mapping.values())

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        try:
            return self._values[self._keys.index(key)]
        except ValueError:
            return default

    def to_dict(self) -> dict[str, Any]:
        """A new dict with the same items, in the original order."""
        return dict(zip(self._keys, self._values, strict=True))

    def __len__(self) -> int:
        return len(self._keys)
