"""The fuzz tests' tallies at the end of the run: inputs per target, accepted and refused."""

from __future__ import annotations

import pytest
from fuzz_tally import TALLIES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = [line for tally in TALLIES for line in tally.lines()]
    if not lines:
        return
    terminalreporter.section("fuzzed inputs")
    for line in lines:
        terminalreporter.write_line(line)
    if config.option.verbose > 0:
        for tally in TALLIES:
            for line in tally.causes():
                terminalreporter.write_line(line)
