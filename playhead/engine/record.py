"""A compact, read-only mapping for the sessionStart's params and custom metadata.

Every open session keeps its sessionStart's params and customMetadata for its report. As dicts
they are the largest part of a live session; as a tuple of values beside a tuple of keys that
sessions with the same keys share, they take about a quarter of the room (bench/memory.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

# Key tuples shared between records; bounded, since keys come from clients.
_KEYSETS: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_KEYSETS = 4096


class Record(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """An immutable mapping stored as keys and a tuple of values, in the original order.

    Build one from a mapping with :meth:`of`, which shares the key tuple with earlier records
    of the same keys. Not tracked by the garbage collector: it only holds strings and JSON
    values, so it can never be part of a reference cycle.

    Attributes:
        keys: the mapping's keys, in order.
        values: the values, in the same order.
    """

    keys: tuple[str, ...]
    values: tuple[Any, ...]

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> Record:
        """A record of ``mapping``'s items, sharing its key tuple with earlier same-key ones."""
        keys = tuple(mapping)
        shared = _KEYSETS.get(keys)
        if shared is None:
            if len(_KEYSETS) < _MAX_KEYSETS:
                _KEYSETS[keys] = keys
            shared = keys
        return cls(shared, tuple(mapping.values()))

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        try:
            return self.values[self.keys.index(key)]
        except ValueError:
            return default

    def to_dict(self) -> dict[str, Any]:
        """A new dict with the same items, in the original order."""
        return dict(zip(self.keys, self.values, strict=True))

    def __len__(self) -> int:
        return len(self.keys)
