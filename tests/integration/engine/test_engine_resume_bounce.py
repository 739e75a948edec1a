"""A bounce resumed after a restart finds its wall again in the new tracker (density ids belong
to one process): the engine runs on the simulated market until a bounce is open, its trade is
left as a restart leaves it (the wall known by side and price only), and the engine follows the
same wall again with its density exits."""

from __future__ import annotations

from pathlib import Path

from engine_rig import engine_rig, make_config

from densitytui.model import SignalKind


async def test_a_resumed_bounce_follows_its_wall_again(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db", mode="auto")) as rig:
        engine = rig.engine

        def open_bounce() -> bool:
            return any(t.kind is SignalKind.BOUNCE for t in engine.trades.values())

        await rig.until(open_bounce, "an open bounce")
        trade = next(t for t in engine.trades.values() if t.kind is SignalKind.BOUNCE)
        density = next(
            d for d in engine.market.densities(trade.symbol) if d.id == trade.density_id
        )
        # As `start` leaves a bounce it read back from the store.
        trade.density_id = 0
        trade.wall = (density.side, density.price)
        await rig.until(
            lambda: trade.wall is None or trade.symbol not in engine.trades, "the wall looked up",
        )
        relinked = [e for e in rig.events if e.kind == "relinked" and e.symbol == trade.symbol]
        assert relinked, [e.message for e in rig.events if e.symbol == trade.symbol]
        assert trade.density_id == density.id
