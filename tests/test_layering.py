"""Import layering: the protocol and the engine know nothing of HTTP, storage or the server;
the client library needs only the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "playhead"
FORBIDDEN = {"starlette", "uvicorn", "asyncpg", "redis", "sqlite3", "httpx", "psycopg"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names; relative ones resolved in the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # "from playhead import x" may import the submodule playhead.x
            if module == "playhead":
                found += [(node.lineno, f"playhead.{a.name}") for a in node.names]
    return found


def files(sub: str) -> list[Path]:
    result = sorted((PACKAGE / sub).rglob("*.py"))
    assert result, f"no sources under playhead/{sub}"
    return result


def _allowed_playhead(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize(
    ("sub", "allowed"),
    [
        ("protocols", ("playhead.protocols", "playhead.events", "playhead.errors")),
        ("engine", ("playhead.events", "playhead.engine")),
    ],
)
def test_core_layers_import_nothing_outside(sub: str, allowed: tuple[str, ...]) -> None:
    problems = []
    for path in files(sub):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            if top in FORBIDDEN or (top == "playhead" and not _allowed_playhead(module, allowed)):
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert problems == []


def test_client_is_stdlib_only() -> None:
    problems = []
    for path in files("client"):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            if top == "playhead":
                if not (module == "playhead.client" or module.startswith("playhead.client.")):
                    problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
            elif top not in sys.stdlib_module_names and top != "__future__":
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert problems == []


def test_walker_resolves_imports() -> None:
    """The walker itself: relative and absolute imports are both resolved."""
    fake = PACKAGE / "engine" / "order.py"
    names = {m for _, m in imports_of(fake)}
    assert all(isinstance(n, str) and n for n in names)
    sample = PACKAGE / "protocols" / "collection" / "decode.py"
    assert "playhead.errors" in {m for _, m in imports_of(sample)}
