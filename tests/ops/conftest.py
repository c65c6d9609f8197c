"""Fixtures of the operations tests: the storage contract's ``backend`` (SQLite, PostgreSQL)."""

from __future__ import annotations

from tests.storage.test_contract import backend

__all__ = ["backend"]
