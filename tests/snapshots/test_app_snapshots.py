"""Pixel-exact snapshots: the main screen on the simulated market (seed 2, time held by the
test, so the clock, the book and the signals are the same on every run), each theme, the
dialogs, the help screen, the too-small message, a wide terminal and the ladder alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_app import engine_app, play, started
from sim_books import SYMBOL, fed_market
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from densitytui.model import BookSide, Density, Position, Side
from densitytui.paths import theme_names
from densitytui.ui.app import DensityApp
from densitytui.ui.themes import THEME_VARIABLES, shipped_themes
from densitytui.ui.widgets.ladder import Ladder, LadderFrame
from densitytui.ui.widgets.screener import DensitiesTable

MARKET_S = 20


async def on_market(pilot: Pilot) -> None:
    """Play 20 s of the seeded market, then let the screen show it."""
    app = pilot.app
    assert isinstance(app, DensityApp)
    await started(pilot, app, app.held_clock)
    await play(pilot, app, app.held_clock, MARKET_S)
    for ladder in app.main_screen.query(Ladder):
        ladder.pull()
    # The screener's cursor follows its wall across refreshes, so where it stands depends on
    # which wall was first when the screen first showed them: put it on the first row.
    app.main_screen.query_one(DensitiesTable).move_cursor(0)
    await pilot.pause()


def market_app(tmp_path: Path, **sections) -> DensityApp:
    app, clock = engine_app(tmp_path, **sections)
    app.held_clock = clock  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(market_app(tmp_path), terminal_size=size, run_before=on_market)


@pytest.mark.parametrize("theme", theme_names())
def test_each_theme(snap_compare, tmp_path: Path, theme: str) -> None:
    app = market_app(tmp_path, app={"theme": theme})
    assert snap_compare(app, terminal_size=(120, 32), run_before=on_market)


def test_wide_terminal_shows_small_ladders_of_the_next_movers(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(market_app(tmp_path), terminal_size=(250, 70), run_before=on_market)


def test_too_small(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(market_app(tmp_path), terminal_size=(79, 24), run_before=on_market)


async def _ask_auto(pilot: Pilot) -> None:
    await on_market(pilot)
    await pilot.press("a")


async def _ask_close_all(pilot: Pilot) -> None:
    await on_market(pilot)
    await pilot.press("f9")


async def _help(pilot: Pilot) -> None:
    await on_market(pilot)
    await pilot.press("f1")


@pytest.mark.parametrize(
    "run_before", [_ask_auto, _ask_close_all, _help], ids=["confirm", "close-all", "help"]
)
def test_dialogs(snap_compare, tmp_path: Path, run_before) -> None:
    assert snap_compare(market_app(tmp_path), terminal_size=(120, 32), run_before=run_before)


class LadderApp(App[None]):
    """The ladder alone on a fixed simulated book, with a cluster, a spoof and a position."""

    def __init__(self) -> None:
        super().__init__()
        for theme in shipped_themes():
            self.register_theme(theme)
        self.theme = "densitytui-dark"
        _, self.market = fed_market(20)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def compose(self) -> ComposeResult:
        yield LadderFrame(Ladder(self, refresh_hz=10))

    def book(self, symbol: str):
        return self.market.book(symbol)

    def densities(self, symbol: str) -> list[Density]:
        book = self.market.book(symbol)
        bids = sorted(book.bids.prices, reverse=True)
        asks = sorted(book.asks.prices)
        cluster_size = 400_000 / bids[5]
        cluster = Density(
            symbol, BookSide.BID, bids[5], cluster_size, cluster_size, 0, 0, confirmed_at=0,
            eaten=0.0, pulled=0.0, levels=3, price_low=bids[6], price_high=bids[4],
        )
        spoof_size = 90_000 / asks[4]
        spoof = Density(
            symbol, BookSide.ASK, asks[4], spoof_size, spoof_size * 3, 0, 0, confirmed_at=0,
            pulled=spoof_size * 2, price_low=asks[4], price_high=asks[4],
        )
        return [*self.market.densities(symbol), cluster, spoof]

    def on_mount(self) -> None:
        ladder = self.query_one(Ladder)
        book = self.market.book(SYMBOL)
        asks = sorted(book.asks.prices)
        bids = sorted(book.bids.prices, reverse=True)
        ladder.set_position(Position(SYMBOL, Side.BUY, 40, asks[0], 0, "sim", stop_loss=bids[9]))
        ladder.show(SYMBOL)


def test_ladder_alone(snap_compare) -> None:
    assert snap_compare(LadderApp(), terminal_size=(60, 34))
