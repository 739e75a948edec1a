"""Signal rules over 5.7 minutes of real BTCUSDT data (../shared/data), through the market engine.

The recording has no tickers, so it has no trend: each message is judged under UP and under
DOWN, both forced here on purpose. Expected facts come from the raw data, parsed here on its
own: the last on-book trade price (entry), the tick grid of the prices (0.1).
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.model import Instrument, Side, SignalKind, Trend
from densitytui.strategy.signals import SignalRules, density_edges, find_signals

TICK = Decimal("0.1")


def test_every_signal_on_real_data_enters_at_the_last_trade_with_a_sound_stop(
    btc_file: Path,
) -> None:
    config = Config()
    engine = MarketEngine(config)
    engine.set_instrument(Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 100.0))
    rules = SignalRules.from_config(config.strategy("BTCUSDT"))
    kinds: set[tuple[SignalKind, Side]] = set()
    raw_last = prev = 0.0
    with gzip.open(btc_file, "rt") as lines:
        for line in lines:
            frame = json.loads(line)
            if frame.get("topic", "").startswith("publicTrade"):
                on_book = [t for t in frame["data"] if not t.get("BT") and not t.get("RPI")]
                if on_book:
                    raw_last = float(on_book[-1]["p"])
            engine.on_frame(line)
            tape = engine.tape("BTCUSDT")
            if tape is None or raw_last == 0.0:
                continue
            densities = {d.id: d.copy() for d in engine.densities("BTCUSDT")}
            for trend in (Trend.UP, Trend.DOWN):
                for signal in find_signals(
                    "BTCUSDT", tape.last_ts, trend, raw_last, prev or raw_last,
                    list(densities.values()), tape, 0.1, rules,
                    book_valid=engine.book_valid("BTCUSDT"),
                ):
                    kinds.add((signal.kind, signal.side))
                    density = densities[signal.density_id]
                    assert signal.entry_price == raw_last
                    assert Decimal(repr(signal.stop_loss)) % TICK == 0, signal
                    distance = abs(signal.entry_price - signal.stop_loss) / signal.entry_price
                    assert distance >= 0.0005 - 1e-12, signal
                    low, high = density_edges(density)
                    if signal.side is Side.BUY:
                        assert signal.stop_loss < low, signal
                    else:
                        assert signal.stop_loss > high, signal
                    if signal.kind is SignalKind.BREAKOUT:
                        assert density.erosion >= 0.3 - 1e-12 and density.eaten >= density.pulled
                        # Through the wall: the trade is beyond its far edge.
                        if signal.side is Side.BUY:
                            assert raw_last > high >= prev, signal
                        else:
                            assert raw_last < low <= prev, signal
            prev = raw_last
    # Under the far-edge rule these 5.7 minutes give no breakout long (no ask wall eroded and
    # eaten enough is traded beyond its far edge); a breakout short and both bounces come.
    assert kinds == {
        (SignalKind.BREAKOUT, Side.SELL), (SignalKind.BOUNCE, Side.BUY), (SignalKind.BOUNCE, Side.SELL),
    }
