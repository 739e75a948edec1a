"""The strategy's numbers per symbol (a symbol's overrides replace the defaults), as the plain
rule objects of the pure layers, made once per symbol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from densitytui.strategy.checks import RiskRules
from densitytui.strategy.exits import ExitRules
from densitytui.strategy.signals import SignalRules

if TYPE_CHECKING:
    from densitytui.config import Config

Rules = tuple[SignalRules, ExitRules, RiskRules]


class RulesBySymbol:
    """`rules(symbol)`: (signal rules, exit rules, risk rules) of `symbol`."""

    def __init__(self, config: Config, fee_rate: float) -> None:
        self.config = config
        self.fee_rate = fee_rate
        self._rules: dict[str, Rules] = {}

    def __call__(self, symbol: str) -> Rules:
        rules = self._rules.get(symbol)
        if rules is None:
            strategy = self.config.strategy(symbol)
            rules = self._rules[symbol] = (
                SignalRules.from_config(strategy),
                ExitRules.from_config(strategy, self.fee_rate),
                RiskRules.from_config(self.config, symbol),
            )
        return rules
