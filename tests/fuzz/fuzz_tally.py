"""What the fuzz tests tried, by target and outcome, written at the end of the run (tests/fuzz/
conftest.py): each refused input counted under its cause (the error's type and the start of its
reason); `-v` lists the causes too."""

from __future__ import annotations

import os
from collections import Counter, defaultdict

# Examples per fuzzed property: bounded in the default run (CI), more on demand.
EXAMPLES = int(os.environ.get("DENSITYTUI_FUZZ_EXAMPLES", "100"))


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        TALLIES.append(self)

    def accepted(self, target: str) -> None:
        self.outcomes[target]["accepted"] += 1

    def refused(self, target: str, cause: str) -> None:
        self.outcomes[target][f"refused: {cause[:60]}"] += 1

    def lines(self) -> list[str]:
        lines = []
        for target, counts in sorted(self.outcomes.items()):
            total = sum(counts.values())
            refused = total - counts["accepted"]
            causes = len([c for c in counts if c != "accepted"])
            lines.append(f"{self.name} {target}: {total} inputs, {counts['accepted']} accepted, "
                         f"{refused} refused ({causes} causes)")
        return lines

    def causes(self) -> list[str]:
        """Every cause of refusal met, with its count, per target."""
        return [
            f"{self.name} {target}: {count} x {cause}"
            for target, counts in sorted(self.outcomes.items())
            for cause, count in counts.most_common() if cause != "accepted"
        ]


TALLIES: list[Tally] = []
