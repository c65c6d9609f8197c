"""The Streaming Media Collection API as one protocol adapter: its wire tables, decoding and
validation into canonical :class:`~playhead.events.Event` values, and its JSON Schemas (pure)."""
