"""The engine on the simulated market: modes, commands, and what reaches the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_rig import Rig, engine_rig, make_config

from densitytui.model import TradingMode
from densitytui.strategy.exits import reanchored_stop


def _tradable_signal(rig: Rig) -> str | None:
    """A pending signal on a symbol whose minimum order fits the exposure limit (not BTC)."""
    for signal in rig.engine.signals.values():
        if signal.symbol != "BTCUSDT":
            return signal.id
    return None


async def test_semi_mode_waits_for_confirm_then_opens_a_protected_position(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db", mode="semi")) as rig:
        await rig.until(lambda: _tradable_signal(rig) is not None, "pending signal")
        signal_id = _tradable_signal(rig)
        assert signal_id is not None
        signal = rig.engine.signals[signal_id]
        assert await rig.store.open_positions() == []
        await rig.engine.confirm(signal_id)

        stored = await rig.store.open_positions("sim")
        assert [(p.symbol, p.side, p.signal_id) for p in stored] == [
            (signal.symbol, signal.side, signal_id),
        ]
        # The stop keeps the signal's distance, re-anchored from the signal's price to the fill
        # once the engine knows the fill (lockstep answers at once, so latency_ms +
        # answer_latency_ms of market time later; the backtest tests check when).
        tick = rig.engine.instruments[signal.symbol].tick_size
        anchored = reanchored_stop(
            signal.side, signal.entry_price, signal.stop_loss, stored[0].entry_price, tick, 0.0005,
        )
        trade = rig.engine.trades[signal.symbol]
        await rig.until(lambda: trade.position.stop_loss == anchored, "the re-anchored stop")
        # The store has it once the engine's write is through (the rig runs in the background).
        for _ in range(100):
            stored = await rig.store.open_positions("sim")
            if stored[0].stop_loss == anchored:
                break
            await rig.run_for(0.05)
        venue = [p for p in await rig.broker.positions() if p.symbol == signal.symbol]
        assert stored[0].stop_loss == venue[0].stop_loss == anchored
        decisions = await rig.store.decisions(signal_id)
        assert [d.outcome for d in decisions] == ["accepted"]
        assert decisions[0].checks and all(check.passed for check in decisions[0].checks)
        assert signal_id not in rig.engine.snapshot().signals

        # The venue's mark price reaches the paper account (liquidations are judged on it).
        await rig.run_for(3)
        ticker = rig.engine.market.ticker(signal.symbol)
        venue = [p for p in await rig.broker.positions() if p.symbol == signal.symbol]
        if venue:
            assert ticker is not None and ticker.mark_price > 0
            assert venue[0].mark_price == ticker.mark_price
        # So does its funding rate (the simulated tickers carry one), charged at funding times.
        assert ticker is not None
        assert rig.broker.funding_rate(signal.symbol) == (
            pytest.approx(ticker.funding_rate_pct), "ticker",
        )


async def test_reject_drops_the_signal_and_records_why(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db", mode="semi")) as rig:
        await rig.until(lambda: bool(rig.engine.signals), "pending signal")
        signal_id = next(iter(rig.engine.signals))
        await rig.engine.reject(signal_id)
        assert signal_id not in [p.signal.id for p in rig.engine.snapshot().signals]
        assert [d.outcome for d in await rig.store.decisions(signal_id)] == ["rejected"]
        assert await rig.store.open_positions() == []


async def test_manual_mode_shows_signals_and_never_trades(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db", mode="manual")) as rig:
        await rig.until(lambda: _tradable_signal(rig) is not None, "pending signal")
        signal_id = _tradable_signal(rig)
        assert signal_id is not None
        await rig.engine.confirm(signal_id)
        await rig.run_for(60)
        assert rig.kinds().count("signal") >= 2
        assert (await rig.store.info()).row_counts["orders"] == 0
        assert await rig.broker.positions() == []
        assert await rig.store.open_positions() == []


async def test_a_pending_signal_expires_after_its_ttl(tmp_path: Path) -> None:
    config = make_config(tmp_path / "e.db", mode="semi", signals={"ttl_s": 5.0})
    async with engine_rig(config) as rig:
        await rig.until(lambda: bool(rig.engine.signals), "pending signal")
        signal_id = next(iter(rig.engine.signals))
        await rig.run_for(7)
        assert signal_id not in rig.engine.signals
        decisions = await rig.store.decisions(signal_id)
        assert decisions[-1].outcome == "dropped"
        assert any(not check.passed for check in decisions[-1].checks)


async def test_close_all_flattens_every_position_and_switches_to_manual(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db", mode="auto")) as rig:
        await rig.until(lambda: len(rig.engine.trades) >= 2, "two open positions")
        held = set(rig.engine.trades)
        await rig.engine.close_all()

        assert rig.engine.mode is TradingMode.MANUAL
        assert await rig.broker.positions() == []
        assert await rig.store.open_positions() == []
        closed = {p.symbol: p for p in await rig.store.closed_positions(limit=100)}
        assert held <= set(closed)
        assert {closed[s].exit_reason for s in held} == {"close_all"}
        assert "close_all_done" in rig.kinds()
        assert await rig.store.open_orders() == []
