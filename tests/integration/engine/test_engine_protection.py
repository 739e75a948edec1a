"""Safety on the simulated market: no store no entries, the kill switch, break-even."""

from __future__ import annotations

from pathlib import Path

from engine_rig import engine_rig, make_config

from densitytui.model import PositionEventKind, TradingMode


async def test_without_a_store_no_entries_but_positions_stay_protected_and_close(
    tmp_path: Path,
) -> None:
    async with engine_rig(make_config(tmp_path / "e.db")) as rig:
        await rig.until(lambda: len(rig.engine.trades) >= 1, "an open position")
        held = set(rig.engine.trades)
        placed = len(await rig.store.recent_signals(limit=1000))
        await rig.store.close()
        await rig.until(lambda: not rig.engine.snapshot().status.store_ok, "store failure", 5)
        status = rig.engine.snapshot().status
        assert "store unavailable" in status.blocked_reason and status.store_error
        opened_before = rig.kinds().count("opened")
        await rig.run_for(120)
        assert rig.kinds().count("opened") == opened_before
        assert "store_failed" in rig.kinds()
        for position in await rig.broker.positions():
            assert position.protected
        # Close-all still flattens: a close cannot add risk, so it goes out unjournaled.
        await rig.engine.close_all()
        assert await rig.broker.positions() == []
        assert held and placed >= 1


async def test_the_kill_switch_closes_everything_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    config = make_config(db, risk={"max_drawdown_pct": 0.001})
    async with engine_rig(config) as rig:
        await rig.until(lambda: "kill_switch" in rig.kinds(), "kill switch")
        await rig.until(lambda: "close_all_done" in rig.kinds(), "flat", 5)
        assert rig.engine.mode is TradingMode.MANUAL
        assert await rig.broker.positions() == []
        assert rig.engine.blocked_reason.startswith("kill switch")
    async with engine_rig(config) as again:
        assert again.engine.mode is TradingMode.MANUAL
        assert again.engine.safety.killed_at is not None
        await again.engine.set_mode(TradingMode.AUTO)
        assert again.engine.safety.killed_at is None and not again.engine.blocked_reason.startswith("kill")


async def test_the_stop_moves_to_break_even_on_the_exchange_and_in_the_store(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path / "e.db", exits={"breakeven_trigger_pct": 0.05})
    async with engine_rig(config) as rig:
        await rig.until(lambda: "breakeven" in rig.kinds(), "break-even move")
        symbol = next(e.symbol for e in rig.events if e.kind == "breakeven")
        stored = next(
            p for p in await rig.store.open_positions() + await rig.store.closed_positions(100)
            if p.symbol == symbol
        )
        assert stored.id is not None
        events = await rig.store.position_events(stored.id)
        moved = [e for e in events if e.kind is PositionEventKind.STOP_LOSS_MOVED]
        assert moved and moved[0].note == "break-even"
        entry = stored.entry_price
        fee = config.paper.taker_fee_pct / 100
        assert moved[0].new_value is not None
        if stored.side.value == "Buy":
            assert moved[0].new_value >= entry * (1 + fee) / (1 - fee) - 1e-9
        else:
            assert moved[0].new_value <= entry * (1 - fee) / (1 + fee) + 1e-9
