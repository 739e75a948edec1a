"""Which market core runs: the book, density tracker and tape compiled by mypyc, or the same
modules as pure Python.

The compiled core is built from these very modules (`hatch_build.py`), so both cores have one
source of semantics; the pure one is the fallback wherever no compiler was at hand. The choice is
made once, when `densitytui.market` is first imported, before any core module loads:
- `DENSITYTUI_PURE_CORE=1` forces the pure core (CI runs the suite with each core);
- the compiled modules load only while the sources match the hashes their build recorded
  (`core_build.json`): after an edit, the pure modules run until the next build;
- otherwise, when they were built, the compiled modules load (Python's import prefers them).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PURE_ENV = "DENSITYTUI_PURE_CORE"
CORE_MODULES = ("book", "densities", "tape")
STAMP = "core_build.json"
_PACKAGE = "densitytui.market"
_DIR = Path(__file__).resolve().parent


class _PureFinder:
    """Loads the core modules from their `.py` sources even where compiled ones sit beside them
    (a meta path finder; not derived from `importlib.abc`, which would import far more)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != _PACKAGE or name not in CORE_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _DIR / f"{name}.py")


def _compiled_files(name: str) -> list[Path]:
    return [
        _DIR / f"{name}{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (_DIR / f"{name}{suffix}").is_file()
    ]


def _choose() -> tuple[bool, str]:
    """(compiled, how it was decided), from the environment and what the build left."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return False, f"pure Python, {PURE_ENV}={os.environ[PURE_ENV]}"
    if not all(_compiled_files(name) for name in CORE_MODULES):
        return False, "pure Python, no compiled core was built"
    try:
        stamp = json.loads((_DIR / STAMP).read_text(encoding="utf-8"))
        recorded = stamp["sources"]
        compiler = str(stamp["compiler"])
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"pure Python, the compiled core has no readable {STAMP} (rebuild it)"
    for name in CORE_MODULES:
        source = (_DIR / f"{name}.py").read_bytes()
        if recorded.get(f"{name}.py") != hashlib.sha256(source).hexdigest():
            return False, (
                f"pure Python, the compiled core is older than {name}.py (rebuild it: "
                "pip install)"
            )
    return True, f"compiled, {compiler}"


COMPILED, DESCRIPTION = _choose()
if not COMPILED and not any(isinstance(f, _PureFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _PureFinder())


def running() -> str:
    """What actually runs, read from the loaded modules: "compiled, mypyc X" or "pure Python,
    why". Loads the core modules if they are not loaded yet."""
    files = [importlib.import_module(f"{_PACKAGE}.{name}").__file__ or "" for name in CORE_MODULES]
    compiled = [f.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) for f in files]
    if compiled == [COMPILED] * len(files):
        return DESCRIPTION
    return f"mixed: {', '.join(files)}"
