"""The import contract of DESIGN.md §9: layers import only the layers below them, and the pure
layers (market, strategy) stay free of I/O, asyncio, pydantic and the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "densitytui"
LAYERS = ["model", "market", "strategy", "venues", "engine", "storage", "ui"]
PURE = {"market", "strategy"}
FORBIDDEN_IN_PURE = {
    "asyncio", "socket", "time", "threading", "pydantic", "textual", "aiosqlite", "asyncpg",
    "websockets", "pybit", "requests", "structlog", "densitytui.config", "densitytui.logging",
    "densitytui.cli", "densitytui.commands",
}


def _module_of(path: Path) -> str:
    return "densitytui." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an import names, relative ones (`from ..engine import x`) resolved."""
    if node.level == 0:
        return node.module or ""
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks, relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(_absolute(path, node))
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "densitytui" and parts[1] in LAYERS else None


MODULES = sorted(
    path for layer in LAYERS if (PACKAGE / layer).is_dir() for path in (PACKAGE / layer).rglob("*.py")
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    layer = path.relative_to(PACKAGE).parts[0]
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    for module in _runtime_imports(path):
        target = _layer_of(module)
        assert target is None or target in allowed, f"{layer} must not import {module}"
        if layer in PURE:
            banned = {m for m in FORBIDDEN_IN_PURE if module == m or module.startswith(m + ".")}
            assert not banned, f"pure layer {layer} imports {module}"


def test_pure_layers_load_nothing_heavy_in_a_fresh_interpreter() -> None:
    modules = [
        "densitytui." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in MODULES
        if p.relative_to(PACKAGE).parts[0] in PURE | {"model"}
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'textual','asyncio','pydantic','aiosqlite','asyncpg','websockets','pybit'})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
