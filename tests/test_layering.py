"""Import layering, checked for every module and folder of the package.

Arrows point down: ``http → collector → reports → (protocols, engine, state, storage) → events``.
Nothing imports upward; the pure core (``events``, ``protocols``, ``engine``) knows nothing of
HTTP, databases or the server; the client library needs only the standard library. A new
folder or module must be given its rule here (a test fails until it is).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "playhead"
IO_LIBRARIES = {
    "starlette",
    "uvicorn",
    "asyncpg",
    "redis",
    "sqlite3",
    "httpx",
    "psycopg",
    "httptools",
}
CORE = ("events", "errors", "tally", "addresses")

# part of the package → (the parts of it it may import, third-party libraries it may not)
RULES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "events": ((), frozenset(IO_LIBRARIES)),
    "errors": ((), frozenset(IO_LIBRARIES)),
    "tally": (("errors",), frozenset(IO_LIBRARIES)),
    "addresses": ((), frozenset(IO_LIBRARIES)),
    "config": (("errors",), frozenset(IO_LIBRARIES)),
    "protocols": ((*CORE, "protocols"), frozenset(IO_LIBRARIES)),
    "engine": (("events", "engine"), frozenset(IO_LIBRARIES)),
    "state": (
        (*CORE, "engine", "state"),
        frozenset({"starlette", "uvicorn", "sqlite3", "asyncpg"}),
    ),
    "enrichment": (
        (*CORE, "enrichment"),
        frozenset({"starlette", "uvicorn", "sqlite3", "asyncpg", "redis"}),
    ),
    "storage": ((*CORE, "engine", "storage"), frozenset({"starlette", "uvicorn", "redis"})),
    "reports": (
        (*CORE, "engine", "protocols", "state", "storage", "enrichment", "reports"),
        frozenset({"starlette", "uvicorn", "sqlite3", "asyncpg", "redis"}),
    ),
    "collector": (
        (*CORE, "engine", "protocols", "state", "storage", "reports", "collector"),
        frozenset({"starlette", "uvicorn", "sqlite3", "asyncpg", "redis"}),
    ),
    "ops": (
        (*CORE, "config", "engine", "state", "storage", "collector", "reports", "ops"),
        frozenset({"starlette", "uvicorn", "sqlite3", "asyncpg", "redis"}),
    ),
    "http": (
        (
            *CORE,
            "config",
            "engine",
            "protocols",
            "state",
            "storage",
            "reports",
            "collector",
            "ops",
            "http",
            "version",
        ),
        frozenset({"sqlite3", "asyncpg", "redis"}),
    ),
    "client": (("client",), frozenset()),  # standard library only: checked below
    "simulator": (("client", "events", "protocols", "simulator"), frozenset(IO_LIBRARIES)),
    "app": (("*",), frozenset()),
    "cli": (("*",), frozenset()),
    "__init__": (("*",), frozenset()),
    "__main__": (("*",), frozenset()),
}


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


def part_of(path: Path) -> str:
    """The top-level part of the package a source file belongs to."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_rule() -> None:
    parts = {part_of(p) for p in SOURCES}
    assert parts - set(RULES) == set(), "give each new module or folder its layering rule"


@pytest.mark.parametrize("part", sorted(RULES))
def test_each_part_imports_only_what_its_layer_allows(part: str) -> None:
    allowed, forbidden = RULES[part]
    problems = []
    for path in SOURCES:
        if part_of(path) != part:
            continue
        for line, module in imports_of(path):
            top, _, rest = module.partition(".")
            where = f"{path.relative_to(PACKAGE)}:{line} imports {module}"
            if top in forbidden:
                problems.append(where)
            elif top == "playhead" and rest and "*" not in allowed:
                target = rest.split(".")[0]
                if target != "__version__" and target not in allowed:
                    problems.append(where)
    assert problems == []


def test_client_is_stdlib_only() -> None:
    problems = []
    for path in (PACKAGE / "client").rglob("*.py"):
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
    sample = PACKAGE / "protocols" / "collection" / "decode.py"
    assert "playhead.errors" in {m for _, m in imports_of(sample)}
    assert part_of(sample) == "protocols" and part_of(PACKAGE / "app.py") == "app"
