"""The wire protocol: constants, decoded types, decoding and validation, JSON Schemas (pure)."""
