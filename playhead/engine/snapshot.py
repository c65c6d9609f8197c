"""A fold's snapshot: compact msgpack bytes that decode to a fold continuing exactly as it would.

This is what a shared live-state store keeps per open session between events. A snapshot is the
msgpack array of a :class:`~playhead.engine.session.SessionFold`'s fields in declaration order
(``engine/model.py``), led by :data:`~playhead.engine.model.LAYOUT_VERSION`; it holds no
field names. Bytes of another layout version, or that are no snapshot at all, raise
``msgspec.DecodeError`` (a ``msgspec.ValidationError`` when well-formed msgpack of the wrong
shape): the fold is then rebuilt from the session's stored events, which stay the source of
truth.

Usage::

    data = snapshot.encode(fold)
    same = snapshot.decode(data)  # same == fold, and it folds every later event the same way
"""

from __future__ import annotations

import msgspec

from playhead.engine.model import LAYOUT_VERSION
from playhead.engine.session import SessionFold

__all__ = ["LAYOUT_VERSION", "decode", "encode"]

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(SessionFold)


def encode(fold: SessionFold) -> bytes:
    """The snapshot of ``fold`` (msgpack bytes)."""
    return _ENCODER.encode(fold)


def decode(data: bytes) -> SessionFold:
    """The fold a snapshot holds; raises ``msgspec.DecodeError`` if ``data`` is none of ours."""
    return _DECODER.decode(data)
