"""The two market cores (the mypyc-compiled modules and the same modules as pure Python): which
one runs and why, and that they give the same answers byte for byte.

Each check runs the cores in child processes, since the core is chosen once per process. The
compiled core must have been built (`pip install .` or `pip install -e .` with a C compiler);
a machine without one runs these only with DENSITYTUI_NO_COMPILED_CORE=1, which skips the
checks that need it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from densitytui.market import core

ROOT = Path(__file__).resolve().parents[3]
CONFIG = str(ROOT / "config.toml")
PROBE = (
    "import densitytui.market.book as b, densitytui.market.densities as d, "
    "densitytui.market.tape as t\n"
    "from densitytui.market import core\n"
    "print(core.running())\n"
    "print(*(m.__file__.rsplit('.', 1)[1] for m in (b, d, t)))\n"
)


def core_env(pure: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != core.PURE_ENV}
    if pure:
        env[core.PURE_ENV] = "1"
    return env


@pytest.fixture(scope="module")
def compiled_built() -> None:
    """The compiled core is there to compare with, or a failure that says how to get it."""
    if all(core._compiled_files(name) for name in core.CORE_MODULES):
        return
    where = f"no compiled market core beside {core.__file__} (install with a C compiler)"
    if os.environ.get("DENSITYTUI_NO_COMPILED_CORE") == "1":
        pytest.skip(f"{where}; DENSITYTUI_NO_COMPILED_CORE=1")
    pytest.fail(f"{where}; set DENSITYTUI_NO_COMPILED_CORE=1 to skip the checks that need it")


def probe(pure: bool, pythonpath: Path | None = None) -> list[str]:
    env = core_env(pure)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=pythonpath or ROOT, capture_output=True,
        text=True, check=True,
    )
    return result.stdout.splitlines()


def cli(pure: bool, *args: str) -> bytes:
    result = subprocess.run(
        [sys.executable, "-m", "densitytui.cli", *args, "--config", CONFIG],
        env=core_env(pure), cwd=ROOT, capture_output=True, check=True,
    )
    return result.stdout


def test_the_environment_variable_forces_the_pure_modules() -> None:
    running, suffixes = probe(pure=True)
    assert running == f"pure Python, {core.PURE_ENV}=1"
    assert suffixes.split() == ["py", "py", "py"]


def test_the_compiled_modules_run_when_built(compiled_built: None) -> None:
    running, suffixes = probe(pure=False)
    assert running.startswith("compiled, mypyc "), running
    assert suffixes.split() == ["so", "so", "so"]


def test_version_names_the_core(compiled_built: None) -> None:
    assert b"(market core: compiled, mypyc " in cli(False, "--version")
    assert b"(market core: pure Python, DENSITYTUI_PURE_CORE=1)" in cli(True, "--version")


def test_an_edited_source_runs_pure_until_rebuilt(compiled_built: None, tmp_path: Path) -> None:
    """A compiled module older than its source would run other code than the source says."""
    shutil.copytree(ROOT / "densitytui", tmp_path / "densitytui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert probe(False, tmp_path)[0].startswith("compiled, mypyc ")
    source = tmp_path / "densitytui" / "market" / "densities.py"
    source.write_text(source.read_text() + "\n# an edit after the build\n")
    running, suffixes = probe(False, tmp_path)
    assert running == (
        "pure Python, the compiled core is older than densities.py (rebuild it: pip install)"
    )
    assert suffixes.split() == ["py", "py", "py"]


def test_scan_json_is_byte_identical_between_cores(
    compiled_built: None, btc_file: Path, xrp_file: Path, tmp_path: Path,
) -> None:
    sim = tmp_path / "sim.jsonl.gz"
    cli(True, "sim", "--seed", "11", "--duration", "60", "--speed", "0", "--record", str(sim))
    for args in (
        ("scan", str(btc_file), "--json", "--final-book", "10"),
        ("scan", str(xrp_file), "--json", "--final-book", "10"),
        ("scan", str(sim), "--json", "--final-book", "10"),
    ):
        compiled = cli(False, *args)
        assert compiled.count(b"\n") > 10, compiled[:500]
        assert compiled == cli(True, *args), args


def test_backtest_json_is_byte_identical_between_cores(
    compiled_built: None, btc_file: Path,
) -> None:
    args = (
        "backtest", str(btc_file), "--change-24h", "BTCUSDT=-8.1",
        "--set", "risk.max_position_exposure_pct=10", "--json",
    )
    compiled = cli(False, *args)
    assert b'"trades"' in compiled
    assert compiled == cli(True, *args)


def test_the_build_compiles_the_modules_the_core_checks() -> None:
    """hatch_build.py runs without the package importable, so it names the core modules and
    the stamp itself: the two lists must agree."""
    tree = ast.parse((ROOT / "hatch_build.py").read_text())
    names = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("CORE_MODULES", "STAMP", "PACKAGE")
    }
    assert names == {
        "CORE_MODULES": core.CORE_MODULES, "STAMP": core.STAMP, "PACKAGE": "densitytui/market",
    }
