"""The simulated catalogue: Bybit's rules for BTCUSDT, and gainers, losers and flat symbols."""

from __future__ import annotations

import json
from pathlib import Path

from densitytui.venues.sim import CATALOGUE, SPECS


def test_a_dozen_tradable_usdt_perpetuals() -> None:
    assert len(CATALOGUE) == 12
    assert len(SPECS) == 12
    assert all(spec.instrument().tradable for spec in CATALOGUE)


def test_btcusdt_rules_match_bybit_docs(docs_examples: Path) -> None:
    answer = json.loads((docs_examples / "rest_market_instruments_info_linear_response.json")
                        .read_text())
    real = answer["result"]["list"][0]
    ours = SPECS["BTCUSDT"].instrument()
    assert ours.tick_size == float(real["priceFilter"]["tickSize"])
    assert ours.qty_step == float(real["lotSizeFilter"]["qtyStep"])
    assert ours.min_qty == float(real["lotSizeFilter"]["minOrderQty"])
    assert ours.min_notional == float(real["lotSizeFilter"]["minNotionalValue"])
    assert ours.max_market_qty == float(real["lotSizeFilter"]["maxMktOrderQty"])
    assert ours.max_leverage == float(real["leverageFilter"]["maxLeverage"])


def test_movers_and_flat_symbols_exist() -> None:
    changes = [spec.change_24h_pct for spec in CATALOGUE]
    assert sum(change >= 5 for change in changes) >= 3
    assert sum(change <= -5 for change in changes) >= 2
    assert sum(abs(change) < 2 for change in changes) >= 3
    assert all(spec.turnover_24h >= 1_000_000 for spec in CATALOGUE)


def test_units_of_prices_and_sizes() -> None:
    btc = SPECS["BTCUSDT"]
    assert (btc.tick_units, btc.qty_scale, btc.step_units) == (10, 3, 1)
    sui = SPECS["SUIUSDT"]
    assert (sui.qty_scale, sui.step_units) == (0, 10)
    sol = SPECS["SOLUSDT"]
    assert (sol.tick_units, sol.price_scale) == (10, 3)
