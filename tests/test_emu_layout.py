"""The emulator's shape stays as its README maps it: files under 400 lines, imports one way
(cli -> server -> http1 -> wire -> model -> store; realtime -> model), and the README names every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EMULATOR = Path(__file__).resolve().parent.parent / "azext_communication" / "emulator"
SOURCES = sorted(EMULATOR.rglob("*.py"))
# package-relative module -> modules (first dotted part below `emulator`) it must never import
FORBIDDEN = {
    "model": {"wire", "server", "http1", "connection", "cli", "events", "realtime"},
    "wire": {"server", "http1", "connection", "cli", "inspector"},
    "inspector": {"wire", "server", "http1", "connection", "cli"},
    # the real-time room sits beside wire/ and events/, fed by the model: it never reaches back up
    "realtime": {"wire", "server", "http1", "connection", "cli", "events", "inspector"},
    "store": {"model", "wire", "server", "http1", "cli"},
    "tokens": {"model", "wire", "server", "http1", "cli"},
    "errors": {"model", "wire", "server", "http1", "cli", "store"},
}


def _layer(path: Path) -> str:
    return path.relative_to(EMULATOR).with_suffix("").parts[0]


def _imported_layers(path: Path, text: str | None = None) -> set[str]:
    """First parts (below `emulator`) of every module `path` (or `text` standing there) imports."""
    package = list(path.relative_to(EMULATOR).parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if not parts:  # `from . import x` at the top of the package
                    parts = [alias.name for alias in node.names]
            elif node.module and node.module.startswith("azext_communication.emulator."):
                parts = node.module.split(".")[2:]
            else:
                continue
            out.add(parts[0])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names
                       if a.name.startswith("azext_communication.emulator."))
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(EMULATOR)))
def test_no_emulator_file_is_longer_than_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 400


@pytest.mark.parametrize("path", [p for p in SOURCES if _layer(p) in FORBIDDEN],
                         ids=lambda p: str(p.relative_to(EMULATOR)))
def test_imports_point_one_way(path: Path) -> None:
    assert not _imported_layers(path) & FORBIDDEN[_layer(path)]


def test_the_checker_sees_a_wrong_way_import() -> None:
    threads = EMULATOR / "model" / "threads.py"
    assert "wire" not in _imported_layers(threads)
    assert "wire" in _imported_layers(threads, threads.read_text() + "\nfrom ..wire import WireApp\n")
    assert "server" in _imported_layers(threads, "import azext_communication.emulator.server\n")


def test_the_readme_module_map_names_every_module() -> None:
    readme = (EMULATOR / "README.md").read_text()
    for path in SOURCES:
        rel = path.relative_to(EMULATOR)
        if path.name == "__init__.py" or path.name == "__main__.py" or rel.parts[0] == "events":
            continue
        name = str(rel) if len(rel.parts) == 1 else f"{rel.parts[0]}/{rel.name}"
        assert f"`{name}`" in readme or f"`{rel.name}`" in readme, name
