"""The package's layers (README, "Architecture"): each folder imports only from the folders below it, no module
imports itself back through others, and no module is over 500 lines.

A record goes up the layers: ``records`` (files in, a typed ``Figure`` out), ``rdf`` (the mapping and the writers),
``validate`` (SHACL), ``pipeline`` (the conversion), ``store`` (the embedded store and its queries), then
``web`` (the endpoint and the pages) and ``publish`` (other triplestores) side by side, and the CLI on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "converter"
LAYERS = {"data": 0, "files": 0, "records": 1, "rdf": 2, "validate": 3, "pipeline": 4, "store": 5, "web": 6,
          "publish": 6, "cli": 7, "__init__": 7, "__main__": 7}
MAX_LINES = 500


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The converter modules ``path`` imports, as dotted names (relative imports resolved)."""
    here = dotted(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "converter" or name.startswith("converter."):
                if node.module is None or name.count(".") < 2:  # "from . import x": x may be a module
                    out.update(f"{name}.{a.name}" for a in node.names)
                out.add(name)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("converter"))
    return out


def layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = layer(dotted(path)) if path.parent != PACKAGE else LAYERS.get(path.stem)
    assert own is not None, f"{path.relative_to(PACKAGE)} is in no layer: add its folder to LAYERS"
    up = sorted(m for m in imported(path) if (layer(m) or 0) > own)
    assert not up, f"{path.relative_to(PACKAGE)} (layer {own}) imports from layers above it: {up}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"


def test_no_import_cycles() -> None:
    graph = {dotted(p): {m for m in imported(p) if m != dotted(p)} for p in modules()}
    known = set(graph)
    graph = {k: {m for m in v if m in known and not k.startswith(m + ".")} for k, v in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
