"""The engine keeps market history: a sample of each watched symbol every minute of market
time (`market_stats`) and each symbol's trading rules and density threshold (`coin_parameters`)
as it starts watching it."""

from __future__ import annotations

from pathlib import Path

from engine_rig import T0, engine_rig, make_config

MINUTE = 60_000


async def test_each_watched_symbol_is_sampled_every_minute_and_its_rules_kept(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path / "e.db", mode="manual")
    async with engine_rig(config, background=False) as rig:
        engine = rig.engine
        await rig.run_exactly(105)
        watched = sorted(engine.watched)
        assert watched
        for symbol in watched:
            samples = await rig.store.market_stats(symbol)
            times = [s.ts for s in samples]
            # On each whole minute of market time (the housekeeping round just after it).
            first = T0 - T0 % MINUTE + MINUTE
            assert [t - t % MINUTE for t in times] == [first + MINUTE, first], (symbol, times)
            assert all(t % MINUTE < 1_000 for t in times)
            ticker = engine.market.ticker(symbol)
            assert ticker is not None
            newest = samples[0]
            assert newest.turnover_24h > 0 and newest.volume_24h > 0
            assert newest.last_price > 0 and newest.book_pressure > 0
            stored = await rig.store.coin_parameters(symbol)
            assert stored is not None and stored.instrument == engine.instruments[symbol]
            assert stored.min_density_notional_usdt >= config.density.min_notional_usdt
