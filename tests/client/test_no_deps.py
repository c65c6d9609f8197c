"""playhead.client must import nothing outside the standard library (and itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIRD_PARTY = ("msgspec", "starlette", "uvicorn", "httpx", "click", "anyio", "pydantic")

# Load playhead.client without running playhead/__init__.py (owned by the server, which may
# import more): a bare package object stands in for ``playhead``.
ISOLATED = r"""
import json, sys, types
before = set(sys.modules)
pkg = types.ModuleType("playhead")
pkg.__path__ = [sys.argv[1] + "/playhead"]
sys.modules["playhead"] = pkg
import playhead.client
import playhead.client.tracker, playhead.client._transport, playhead.client._worker
new = sorted(set(sys.modules) - before - {"playhead"})
print(json.dumps(new))
"""

PLAIN = r"""
import json, sys
import playhead.client
print(json.dumps(sorted(sys.modules)))
"""


def _run(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: list[str] = json.loads(out.stdout)
    return result


def test_client_imports_only_stdlib() -> None:
    modules = _run(ISOLATED)
    assert "playhead.client" in modules
    outside = [
        m
        for m in modules
        if not m.startswith("playhead.client")
        and m.split(".")[0] not in sys.stdlib_module_names
        and not m.startswith("_")
    ]
    assert outside == []


def test_plain_import_pulls_no_server_dependencies() -> None:
    """Fails if playhead/__init__.py imports server dependencies (it must stay light)."""
    code = "import sys; sys.path.insert(0, sys.argv[1])\n" + PLAIN
    modules = _run(code)
    assert "playhead.client" in modules
    assert [m for m in modules if m.split(".")[0] in THIRD_PARTY] == []
