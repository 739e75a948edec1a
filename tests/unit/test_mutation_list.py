"""The mutation probe (`tests/mutation/run.py`) switches off every check the risk gate has."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from densitytui.engine.risk import ALL_CHECKS

SCRIPT = Path(__file__).resolve().parents[1] / "mutation" / "run.py"


def test_every_check_of_the_risk_gate_has_a_mutant() -> None:
    spec = importlib.util.spec_from_file_location("mutation_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    names = {mutant.name for mutant in module.MUTANTS}
    assert set(ALL_CHECKS) <= names, f"no mutant for {sorted(set(ALL_CHECKS) - names)}"
    for mutant in module.MUTANTS:
        text = (module.PACKAGE / mutant.path).read_text()
        assert text.count(mutant.old) == 1, f"{mutant.name}: its edit no longer applies"
