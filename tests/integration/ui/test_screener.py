"""The density screener across the watched symbols, in the app on the simulated market."""

from __future__ import annotations

from engine_app import engine_app, screen_text, with_signals

from densitytui.ui.widgets.ladder import Ladder
from densitytui.ui.widgets.screener import DensitiesTable

WIDE = (160, 48)


async def test_the_screener_lists_every_symbols_walls_with_distance(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await with_signals(pilot, app, clock)
        engine = app.engine
        assert engine is not None
        walls = {
            (symbol, round(d.price, 8)): d
            for symbol in ("XRPUSDT", "DOGEUSDT", "SUIUSDT") for d in engine.densities(symbol)
        }
        table = app.main_screen.query_one(DensitiesTable)
        assert table.row_count == len(walls) > 0
        assert {row.symbol for row in table._rows} == {symbol for symbol, _ in walls}
        text = screen_text(app)
        for row in table._rows:
            mid = engine.book(row.symbol).mid()
            assert row.distance_pct == abs(row.price - mid) / mid * 100
            assert f"{row.distance_pct:.2f}%" in text
        distances = [table._shown[key][3] for key in table._keys]
        assert distances == sorted(distances, key=lambda d: float(d.rstrip("%")))
        table.focus()
        await pilot.press("s")
        sizes = [r.notional for r in sorted(table._rows, key=lambda r: -r.notional)]
        assert [table.symbol_of(k) for k in table._keys] == [
            r.symbol for r in sorted(table._rows, key=lambda r: -r.notional)
        ] and sizes
        assert "by USDT" in str(app.main_screen.query_one("#densities-pane").border_title)
        await pilot.press("end")
        last = table.symbol_of(table.selected_key)
        app.main_screen.symbol = None
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen.query_one("#ladder", Ladder).symbol == last
        assert not engine.snapshot().positions
