"""Mutation probe of the engine's safety rules: switch each rule off in turn, run the
engine-level tests that guard it, and show which mutants the tests killed.

    python tests/mutation/run.py                 # every mutant, 300 s each at most
    python tests/mutation/run.py --only cooldown daily_loss.unrealized
    python tests/mutation/run.py --list          # the mutants and what each changes
    python tests/mutation/run.py --timeout 120

Each mutant is a copy of the `densitytui` package with one edit (a rule that always passes,
or the engine handing a rule the wrong number), put first on PYTHONPATH for a pytest run of
`TESTS` in this repository. A mutant is killed when that run fails (or times out, shown as
such); it survives when the tests still pass, which means nothing proves the rule is wired.
The unmutated package must pass first. Exit status 0 when every mutant was killed. Slow
(minutes): not part of `pytest`; `tests/unit/test_mutation_list.py` checks that the list below
covers every check of `densitytui.engine.risk.ALL_CHECKS`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "densitytui"
TESTS = [
    "tests/integration/engine/test_engine_risk_gate.py",
    "tests/integration/engine/test_engine_protection.py",
]
VERDICT_ANCHOR = '        refused = tuple(f"{r.name} ({r.detail})" for r in failed(checks))\n'


@dataclass(frozen=True)
class Mutant:
    """One edit of one file: `old` (which must occur exactly once) becomes `new`."""

    name: str
    path: str
    old: str
    new: str
    what: str


def verdict(check: str) -> Mutant:
    """Check `check` always passes, whatever its numbers say."""
    forced = (
        f"        checks = [CheckOutcome(c.name, True, c.detail) if c.name == {check!r} else c"
        " for c in checks]\n"
    )
    return Mutant(
        check, "engine/risk.py", VERDICT_ANCHOR, forced + VERDICT_ANCHOR,
        f"the {check} check always passes",
    )


# The checks a decision lists (`densitytui.engine.risk.ALL_CHECKS`), each switched off; then
# the wiring: the engine handing a check the wrong input, or skipping a step of the rule.
GATE = (
    "store_ok", "margin_mode", "kill_switch", "venue_ok", "instrument_known", "balance_known",
    "symbol_enabled", "symbol_mover", "signal_fresh", "not_handled", "max_positions",
    "no_position", "stop_distance", "entry_deviation", "density_exists", "available_balance",
    "qty_valid", "stop_on_tick", "min_notional", "position_exposure", "total_exposure",
    "min_balance", "book_valid", "data_fresh", "daily_loss", "stop_streak", "entries_not_paused",
    "reward_risk", "cooldown", "sizing",
)
MUTANTS = [verdict(check) for check in GATE] + [
    Mutant(
        "no_order_in_flight", "engine/entries.py", "        if symbol in busy:\n",
        "        if False:\n", "an entry is made while an order on the symbol is in flight",
    ),
    Mutant(
        "daily_loss.realized", "engine/entries.py",
        "day_realized_pnl=safety.day_realized_pnl,", "day_realized_pnl=0.0,",
        "the engine hands the daily loss check a realized PnL of 0",
    ),
    Mutant(
        "daily_loss.unrealized", "engine/entries.py",
        "day_unrealized_pnl=balance.unrealized_pnl,", "day_unrealized_pnl=0.0,",
        "open positions' losses do not count for the day",
    ),
    Mutant(
        "daily_loss.latch", "engine/safety.py",
        "            self.day_loss_hit = self.day\n            return True\n",
        "            return True\n",
        "the daily loss limit does not stay reached for the day",
    ),
    Mutant(
        "stop_streak.recent_stops", "engine/entries.py",
        "recent_stop_times_ms=safety.recent_stops(now),", "recent_stop_times_ms=(),",
        "the engine hands the stop streak check no recent stops",
    ),
    Mutant(
        "data_fresh.age", "engine/entries.py",
        "data_age_ms=self.book_age_ms(symbol),", "data_age_ms=0,",
        "the engine hands the staleness check an age of 0",
    ),
    Mutant(
        "data_fresh.per_symbol", "engine/feed.py",
        "        last = self.last_book_ms.get(symbol)\n",
        "        last = self.last_data_ms\n",
        "one global data timer (any message, trades too) instead of each symbol's books",
    ),
    Mutant(
        "entries_not_paused.pause", "engine/entries.py",
        "entries_paused=self.gate.paused,", "entries_paused=False,",
        "the engine hands the pause check 'not paused'",
    ),
    Mutant(
        "entries_not_paused.at_send", "engine/entries.py",
        "                guard=self._paused_meanwhile,\n", "",
        "a pause acknowledged while the entry is being written does not stop it",
    ),
    Mutant(
        "cooldown.last_close", "engine/entries.py",
        "last_close_ms=safety.last_close_ms.get(symbol),", "last_close_ms=None,",
        "the engine hands the cooldown check no last close",
    ),
    Mutant(
        "margin_mode.detect", "engine/risk.py",
        '                "" if mode is MarginMode.ISOLATED\n', '                "" if True\n',
        "any margin mode is taken for isolated",
    ),
    Mutant(
        "kill_switch.fire", "engine/housekeeping.py",
        "        if killed and safety.killed_at is None:\n", "        if False:\n",
        "the drawdown beyond the limit does not fire the kill switch",
    ),
    Mutant(
        "equity_peak.save", "engine/housekeeping.py",
        "        if not killed and safety.peak_unsaved() and now >= self._next_peak_save:\n",
        "        if False:\n",
        "a risen equity peak is stored only at a close, a kill or a mode change",
    ),
    Mutant(
        "store_failed.halt", "engine/risk.py",
        "        self.store_error = str(exc) or type(exc).__name__\n",
        "        pass\n",
        "a failing store is not remembered (entries go on)",
    ),
]


def mutate(mutant: Mutant, into: Path) -> None:
    """A fresh copy of the package in `into`, with `mutant` applied (the themes and the
    default config beside it, where the package looks for them)."""
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(PACKAGE, into, ignore=shutil.ignore_patterns("__pycache__"))
    for beside in ("themes", "config.toml"):
        source, target = ROOT / beside, into.parent / beside
        if not target.exists():
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
    target = into / mutant.path
    text = target.read_text()
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(f"{mutant.name}: the text to change occurs {count} times in {target}")
    target.write_text(text.replace(mutant.old, mutant.new))


def run_tests(site: Path, timeout_s: float) -> tuple[str, float, str]:
    """pytest on TESTS with the package in `site` first on the path: passed, failed (a test
    failed), error (the run broke before: collection, import), or timeout; the seconds it
    took and the end of its output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    # -P: the working directory (this repository) must not come before the mutant on the path.
    command = [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:logging", "-p",
               "no:cacheprovider", *TESTS]
    started = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, ""
    elapsed = time.monotonic() - started
    tail = "\n".join(result.stdout.splitlines()[-25:])
    outcome = {0: "passed", 1: "failed"}.get(result.returncode, "error")
    return outcome, elapsed, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="run these mutants only")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in mutants:
            print(f"{m.name:28} {m.path:24} {m.what}")
        return 0
    outcome, elapsed, tail = run_tests(ROOT, args.timeout * 2)
    print(f"unmutated: tests {outcome} in {elapsed:.0f} s", flush=True)
    if outcome != "passed":
        print(tail)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="dt-mutant-") as tmp:
        site = Path(tmp)
        for mutant in mutants:
            mutate(mutant, site / "densitytui")
            outcome, elapsed, tail = run_tests(site, args.timeout)
            if outcome == "error":
                print(tail)
                raise SystemExit(f"{mutant.name}: the tests could not run on the mutant")
            status = {"failed": "killed", "timeout": "killed (timeout)"}.get(outcome, "SURVIVED")
            rows.append((mutant, status, elapsed))
            print(f"{mutant.name:28} {status:17} {elapsed:5.0f} s  {mutant.what}", flush=True)
    survived = [m.name for m, status, _ in rows if status == "SURVIVED"]
    print()
    print("| mutant | what it changes | result | s |")
    print("|---|---|---|---|")
    for mutant, status, elapsed in rows:
        print(f"| {mutant.name} | {mutant.what} | {status} | {elapsed:.0f} |")
    print(f"\n{len(rows) - len(survived)} of {len(rows)} killed" +
          (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
