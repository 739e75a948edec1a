"""Build hook: compile the market core (book, densities, tape) with mypyc when it can.

The compiled core is the same Python modules, compiled: one source of semantics. Where the
build cannot compile (no C compiler, no Python headers, mypyc refusing the code), the wheel is
built pure and says why; the pure-Python modules are the core then. `DENSITYTUI_BUILD_PURE=1`
asks for a pure build; `DENSITYTUI_REQUIRE_COMPILED=1` (CI) makes a failed compile fail the build.

A regular wheel carries the compiled modules beside the sources. An editable install puts them
into the source tree (ignored by git). Either way a stamp, `densitytui/market/core_build.json`,
records the hash of every source compiled: `densitytui.market.core` loads the compiled modules
only while the sources still match it, so an edit after an editable install falls back to the
pure modules instead of running stale code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "densitytui/market"
# The same as densitytui.market.core says (a test checks): this file runs without the package.
CORE_MODULES = ("book", "densities", "tape")
GROUP = "densitytui.market.compiled"
STAMP = "core_build.json"
# mypy options for the compile: only the core is checked and compiled; what it imports (the
# model, the decoder, the config) is read for its types, and libraries missing from the
# isolated build environment count as untyped.
MYPY_OPTIONS = ("--ignore-missing-imports", "--follow-imports=silent", "--python-version=3.11")

_COMPILE = """
import sys
from mypyc.build import mypycify
from setuptools import setup
out, temp, *paths = sys.argv[1:]
setup(
    name="densitytui-market-core",
    packages=[],
    py_modules=[],
    ext_modules=mypycify(paths, opt_level="3", group_name={group!r}, target_dir=temp),
    script_args=["build_ext", "--build-lib", out, "--build-temp", temp],
)
"""


def source_hashes(root: Path) -> dict[str, str]:
    """sha256 of each core module's source, by file name."""
    return {
        f"{name}.py": hashlib.sha256((root / PACKAGE / f"{name}.py").read_bytes()).hexdigest()
        for name in CORE_MODULES
    }


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        editable = version == "editable"
        if editable:
            self._remove_inplace(root)
        if os.environ.get("DENSITYTUI_BUILD_PURE") == "1":
            self.app.display_info("densitytui: DENSITYTUI_BUILD_PURE=1, pure-Python market core")
            return
        out = Path(tempfile.mkdtemp(prefix="densitytui-core-"))
        built = self._compile(root, out)
        if not built:
            return
        stamp = {"compiler": f"mypyc {_mypy_version()}", "sources": source_hashes(root)}
        (out / PACKAGE / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
        built.append(out / PACKAGE / STAMP)
        if editable:
            for path in built:
                shutil.copy2(path, root / PACKAGE / path.name)
        else:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            for path in built:
                build_data["force_include"][str(path)] = f"{PACKAGE}/{path.name}"
        self.app.display_info(f"densitytui: compiled market core ({stamp['compiler']})")

    def _compile(self, root: Path, out: Path) -> list[Path]:
        """The built extension files, or [] (and why) when compiling failed."""
        temp = out / "temp"
        # Absolute paths, run from an empty directory: setuptools, there only to drive the C
        # compiler, must not read this project's pyproject.toml (hatchling builds it).
        paths = [str(root / PACKAGE / f"{name}.py") for name in CORE_MODULES]
        work = out / "cwd"
        work.mkdir()
        env = dict(os.environ, MYPY_CACHE_DIR=str(out / "mypy_cache"))
        try:
            result = subprocess.run(
                [sys.executable, "-c", _COMPILE.format(group=GROUP), str(out), str(temp),
                 *MYPY_OPTIONS, *paths],
                cwd=work, env=env, capture_output=True, text=True, check=False,
            )
        except OSError as exc:
            return self._failed(str(exc))
        if result.returncode != 0:
            return self._failed((result.stdout + result.stderr).strip()[-3000:])
        built = sorted((out / PACKAGE).glob("*.so")) + sorted((out / PACKAGE).glob("*.pyd"))
        if len(built) != len(CORE_MODULES) + 1:
            return self._failed(f"expected {len(CORE_MODULES) + 1} extension files, got {built}")
        return built

    def _failed(self, why: str) -> list[Path]:
        if os.environ.get("DENSITYTUI_REQUIRE_COMPILED") == "1":
            raise RuntimeError(f"densitytui: the compiled market core did not build:\n{why}")
        self.app.display_warning(
            "densitytui: the compiled market core did not build; the pure-Python core is "
            f"used (same results, slower). Reason:\n{why}"
        )
        return []

    @staticmethod
    def _remove_inplace(root: Path) -> None:
        """Drop a previous editable build's compiled modules and stamp."""
        package = root / PACKAGE
        for path in [*package.glob("*.so"), *package.glob("*.pyd"), package / STAMP]:
            path.unlink(missing_ok=True)


def _mypy_version() -> str:
    from mypy.version import __version__

    return __version__
