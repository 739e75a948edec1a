"""Range rules have their history at once on a venue with klines: the engine seeds each symbol
it starts watching with the venue's 1-minute klines over tape.range_hours (REST on Bybit's
venues; the simulated market's own 24 h history here), so "new territory" and range_return
judge from the first minute instead of saying "unknown" for hours."""

from __future__ import annotations

from pathlib import Path

from engine_rig import engine_rig, make_config

HOUR_MS = 3_600_000
MINUTE_MS = 60_000


async def test_watched_symbols_start_with_their_range_history(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "h.db"), background=False) as rig:
        engine = rig.engine
        assert engine.watched
        start = engine.clock_ms()
        await rig.run_exactly(5)
        now = engine.clock_ms()
        hours = max(engine.config.tape.range_hours)
        for symbol in sorted(engine.watched):
            tape = engine.market.tape(symbol)
            assert tape is not None
            # Five seconds of trades, and the hours of the klines before them.
            assert tape.history_ms(now) >= hours * HOUR_MS, symbol
            # The range before the current minute is the klines' (read here from the venue).
            klines = await engine.venue.market.klines(symbol, 1, round(hours * 60))
            first = now // MINUTE_MS - round(hours * 60)
            window = [k for k in klines if first < k.start // MINUTE_MS < start // MINUTE_MS]
            assert tape.prior_range(hours, now) == (
                min(k.low for k in window), max(k.high for k in window),
            ), symbol
