"""A signal the default size can never trade says why (issue 20, defect 5): BTC's minimum
order of 0.001 at 62,000 USDT is 62 USDT, beyond 5 % of a 1,000 USDT account (50 USDT)."""

from __future__ import annotations

from densitytui.config import Config
from densitytui.engine.view import cannot_trade
from densitytui.model import Balance, BookSide, Instrument, Side, Signal, SignalKind
from densitytui.strategy.checks import RiskRules

BTC = Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 100.0)
XRP = Instrument("XRPUSDT", 0.0001, 1.0, 1.0, 5.0, 1_000_000.0)


def _signal(symbol: str, price: float) -> Signal:
    return Signal(f"{symbol}-1", symbol, SignalKind.BOUNCE, Side.BUY, price, price * 0.997,
                  BookSide.BID, price * 0.999, 0, 60_000)


def test_btc_at_the_default_size_cannot_trade_and_says_why() -> None:
    rules = RiskRules.from_config(Config())
    balance = Balance(equity=1_000.0, available=1_000.0, wallet=1_000.0)
    assert cannot_trade(_signal("BTCUSDT", 62_000.0), BTC, balance, rules) == "min 62>cap 50"


def test_a_symbol_the_default_size_can_trade_says_nothing() -> None:
    rules = RiskRules.from_config(Config())
    balance = Balance(equity=1_000.0, available=1_000.0, wallet=1_000.0)
    assert cannot_trade(_signal("XRPUSDT", 2.48), XRP, balance, rules) == ""
    # A bigger account lifts BTC's minimum under the cap (5 % of 2,000 = 100 USDT).
    rich = Balance(equity=2_000.0, available=2_000.0, wallet=2_000.0)
    assert cannot_trade(_signal("BTCUSDT", 62_000.0), BTC, rich, rules) == ""
    assert cannot_trade(_signal("BTCUSDT", 62_000.0), None, balance, rules) == ""
