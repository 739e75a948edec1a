"""The ladder on real books: a MarketEngine fed by the simulated market, no stand-ins.

Expected rows come from the book's own price lists (read independently of `build_rows`), and
the repaint count is checked against a row-by-row comparison of what was on screen."""

from __future__ import annotations

from dataclasses import replace

from sim_books import SYMBOL, advance, fed_market
from textual.app import App, ComposeResult

from densitytui.model import BookSide, Density, Position, Side
from densitytui.ui.ladder_rows import LadderSettings, Mark, RowKind, build_rows
from densitytui.ui.themes import THEME_VARIABLES, shipped_themes
from densitytui.ui.widgets.ladder import Ladder, LadderFrame

HEIGHT = 31


def density_at(engine, price: float, side: BookSide, notional: float, **changes) -> Density:
    book = engine.book(SYMBOL)
    size = notional / price
    density = Density(SYMBOL, side, price, size, size, 0, 0, confirmed_at=0)
    assert book.size_at(side, price) > 0, "the density must sit on a real level"
    return replace(density, **changes)


def test_rows_are_centred_on_the_touch() -> None:
    _, engine = fed_market(20)
    book = engine.book(SYMBOL)
    rows = build_rows(book, [], None, HEIGHT, LadderSettings())
    asks_shown = (HEIGHT - 1) // 2
    best_asks = sorted(book.asks.prices)[:asks_shown]
    best_bids = sorted(book.bids.prices, reverse=True)[: HEIGHT - 1 - asks_shown]
    assert [float(r.price) for r in rows[:asks_shown]] == best_asks[::-1]
    assert rows[asks_shown].kind is RowKind.SPREAD
    assert [float(r.price) for r in rows[asks_shown + 1 :]] == best_bids
    spread = best_asks[0] - best_bids[0]
    assert f"spread {spread:.6g}" in rows[asks_shown].tag


def test_a_tracked_density_is_highlighted_with_its_figures() -> None:
    _, engine = fed_market(20)
    densities = engine.densities(SYMBOL)
    assert densities, "seed 7 has a bid wall on XRPUSDT after 20 s"
    wall = densities[0]
    rows = build_rows(engine.book(SYMBOL), densities, None, HEIGHT, LadderSettings())
    marked = [r for r in rows if r.tag and r.kind is not RowKind.SPREAD]
    assert len(marked) == 1
    assert float(marked[0].price) == wall.price
    assert marked[0].kind is (RowKind.BID if wall.side is BookSide.BID else RowKind.ASK)
    assert marked[0].intensity >= 1
    assert f"${wall.notional / 1000:.1f}K" in marked[0].tag


def test_a_cluster_is_drawn_over_its_whole_range_and_intensity_follows_notional() -> None:
    _, engine = fed_market(20)
    book = engine.book(SYMBOL)
    bids = sorted(book.bids.prices, reverse=True)
    low, high = bids[6], bids[3]
    cluster = density_at(
        engine, bids[4], BookSide.BID, 600_000.0, price_low=low, price_high=high, levels=4
    )
    rows = build_rows(book, [cluster], None, HEIGHT, LadderSettings(min_notional_usdt=50_000))
    covered = [float(r.price) for r in rows if r.intensity]
    assert covered == [p for p in bids if low <= p <= high]
    assert {r.intensity for r in rows if r.intensity} == {3}
    weak = replace(cluster, size=60_000 / cluster.price, peak_size=60_000 / cluster.price)
    rows = build_rows(book, [weak], None, HEIGHT, LadderSettings(min_notional_usdt=50_000))
    assert {r.intensity for r in rows if r.intensity} == {1}


def test_erosion_eaten_pulled_spoof_and_frozen_are_shown() -> None:
    _, engine = fed_market(20)
    book = engine.book(SYMBOL)
    asks = sorted(book.asks.prices)
    eaten = density_at(engine, asks[2], BookSide.ASK, 100_000.0)
    eaten = replace(eaten, peak_size=eaten.size * 2, eaten=eaten.size * 0.8, pulled=eaten.size * 0.2)
    spoof = density_at(engine, asks[5], BookSide.ASK, 100_000.0, frozen=True)
    spoof = replace(spoof, peak_size=spoof.size * 4, pulled=spoof.size * 3)
    rows = {float(r.price): r for r in build_rows(book, [eaten, spoof], None, HEIGHT, LadderSettings())
            if r.price}
    assert "e50%" in rows[asks[2]].tag and "80/20" in rows[asks[2]].tag
    assert not rows[asks[2]].spoof
    assert rows[asks[5]].spoof and "SPOOF" in rows[asks[5]].tag
    assert rows[asks[5]].frozen and "frozen" in rows[asks[5]].tag


def test_the_open_position_entry_and_stop_are_drawn() -> None:
    _, engine = fed_market(20)
    book = engine.book(SYMBOL)
    bids = sorted(book.bids.prices, reverse=True)
    asks = sorted(book.asks.prices)
    position = Position(SYMBOL, Side.BUY, 10, asks[0], 0, "sim", stop_loss=bids[8])
    rows = build_rows(book, [], position, HEIGHT, LadderSettings())
    entry = [r for r in rows if r.mark is Mark.ENTRY]
    stop = [r for r in rows if r.mark is Mark.STOP]
    assert [float(r.price) for r in entry] == [asks[0]]
    assert [float(r.price) for r in stop] == [bids[8]]
    far = replace(position, stop_loss=bids[-1] - 1.0)
    rows = build_rows(book, [], far, HEIGHT, LadderSettings())
    assert [r.mark_text.startswith("↓stop") for r in rows if r.mark is Mark.STOP] == [True]


def test_an_invalid_book_says_so_and_greys_every_level() -> None:
    _, engine = fed_market(20)
    book = engine.book(SYMBOL)
    book.invalidate()
    rows = build_rows(book, [], None, HEIGHT, LadderSettings())
    assert "BOOK INVALID" in rows[(HEIGHT - 1) // 2].tag
    assert all(r.frozen for r in rows if r.kind in (RowKind.ASK, RowKind.BID))


class LadderApp(App[None]):
    """The ladder alone, reading a market engine."""

    def __init__(self, source) -> None:
        super().__init__()
        self.source = source
        for theme in shipped_themes():
            self.register_theme(theme)
        self.theme = "densitytui-dark"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def compose(self) -> ComposeResult:
        # A slow timer: the test pulls by hand, so each pull is one known step.
        yield LadderFrame(Ladder(self.source, refresh_hz=0.001))


async def test_only_rows_that_changed_are_repainted() -> None:
    market, engine = fed_market(20)
    app = LadderApp(engine)
    async with app.run_test(size=(60, HEIGHT + 2)) as pilot:
        ladder = app.query_one(Ladder)
        ladder.show(SYMBOL)
        await pilot.pause()
        assert ladder.repainted_rows >= HEIGHT
        before = list(ladder._rows)
        painted = ladder.repainted_rows
        ladder.pull()
        assert ladder.repainted_rows == painted, "an unchanged book repaints nothing"
        assert advance(market, engine, 100) > 0
        ladder.pull()
        differing = sum(1 for old, new in zip(before, ladder._rows, strict=True) if old != new)
        assert 0 < differing < HEIGHT
        assert ladder.repainted_rows - painted == differing


async def test_many_book_messages_make_one_repaint_per_tick() -> None:
    market, engine = fed_market(20)
    app = LadderApp(engine)
    async with app.run_test(size=(60, HEIGHT + 2)) as pilot:
        ladder = app.query_one(Ladder)
        ladder.show(SYMBOL)
        await pilot.pause()
        painted = ladder.repainted_rows
        frames = advance(market, engine, 5_000)
        ladder.pull()
        assert frames > 100
        assert ladder.repainted_rows - painted <= HEIGHT


async def test_a_theme_change_repaints_rows_in_the_new_colours() -> None:
    _, engine = fed_market(20)
    app = LadderApp(engine)
    async with app.run_test(size=(60, HEIGHT + 2)) as pilot:
        ladder = app.query_one(Ladder)
        ladder.show(SYMBOL)
        await pilot.pause()
        dark = ladder.render_line(0)
        app.theme = "densitytui-light"
        await pilot.pause()
        light = ladder.render_line(0)
        assert dark.text == light.text
        assert [s.style for s in dark] != [s.style for s in light]
