"""The fold's public shape: documented fields, read by the renderer, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from playhead.engine import SessionFold
from playhead.engine.model import FoldState
from tests.engine.builders import folded, start

ENGINE = Path(__file__).resolve().parents[2] / "playhead" / "engine"


def _engine_imports(path: Path) -> set[str]:
    """The playhead.engine modules ``path`` imports anywhere (TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n for n in names if n.startswith("playhead.engine.")}
    return found


def test_the_engine_modules_import_each_other_without_a_cycle() -> None:
    graph = {
        f"playhead.engine.{p.stem}": _engine_imports(p)
        for p in ENGINE.glob("*.py")
        if p.stem != "__init__"
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    assert "playhead.engine.session" not in graph["playhead.engine.render"]


def test_the_renderer_reads_only_public_fields() -> None:
    tree = ast.parse((ENGINE / "render.py").read_text(encoding="utf-8"))
    private = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]
    assert private == []


def test_every_field_is_documented() -> None:
    doc = FoldState.__doc__ or ""
    attributes = doc[doc.index("Attributes:") :]
    missing = [
        n for n in FoldState.__struct_fields__ if f"{n}:" not in attributes.replace(",", ":")
    ]
    assert missing == []


def test_a_fold_is_its_public_state() -> None:
    f = folded(start(), *[])
    assert isinstance(f, FoldState) and type(f) is SessionFold
    assert f.start_params.get("media.id") == "m"
    assert f.start_params.to_dict()["media.length"] == 100.0
    assert (f.ads, f.chapters, f.diagnostics, f.states, f.journal) == (None,) * 5
