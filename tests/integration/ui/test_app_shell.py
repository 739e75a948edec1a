"""The app shell: header with venue and mode, the four panes, the log pane, and `q`."""

from __future__ import annotations

import threading

import structlog
from textual.widgets import Label

from densitytui.config import Config, parse_config
from densitytui.logging import close_logging, configure_logging
from densitytui.model import AppEvent
from densitytui.ui.app import DensityApp
from densitytui.ui.widgets.events import event_line
from densitytui.ui.widgets.log_pane import LogPane
from densitytui.ui.widgets.pane import Pane


async def test_shows_venue_and_the_five_panes() -> None:
    app = DensityApp(parse_config({"app": {"venue": "paper", "mode": "auto"}}))
    async with app.run_test(size=(140, 36)):
        assert str(app.screen.query_one("#status-venue", Label).content) == "PAPER"
        titles = [pane.border_title for pane in app.screen.query(Pane)]
        assert titles == ["Movers", "Densities", "Signals", "Positions", "Events"]


async def test_opens_and_migrates_the_database_on_start(tmp_path) -> None:
    db = tmp_path / "data" / "app.db"
    app = DensityApp(parse_config({"storage": {"url": f"sqlite:///{db}"}}))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.store is not None
        assert await app.store.schema_version() >= 1
    assert db.exists()


async def test_an_unusable_database_is_shown_not_fatal(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    app = DensityApp(parse_config({"storage": {"url": f"sqlite:///{blocker}/sub/app.db"}}))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.store is None
        assert any("Database unavailable" in n.message for n in app._notifications)


async def test_quitting_while_the_database_opens_leaves_no_connection(tmp_path) -> None:
    db = tmp_path / "app.db"
    app = DensityApp(parse_config({"storage": {"url": f"sqlite:///{db}"}}))
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.store is None
    assert not [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_the_app_title_shows_in_the_status_bar() -> None:
    app = DensityApp(Config())
    async with app.run_test() as pilot:
        app.sub_title = "REPLAY x10 · paused"
        app.main_screen.poll()
        await pilot.pause()
        title = app.main_screen.query_one("#status-title", Label)
        assert str(title.content) == "REPLAY x10 · paused"


async def test_q_quits() -> None:
    app = DensityApp(Config())
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_theme_from_config_is_applied() -> None:
    app = DensityApp(parse_config({"app": {"theme": "light"}}))
    async with app.run_test():
        assert app.theme == "densitytui-light"
        assert app.current_theme.dark is False


async def test_log_pane_toggles_and_shows_new_records(tmp_path) -> None:
    configure_logging(Config(), tmp_path / "app.log")
    app = DensityApp(Config())
    async with app.run_test() as pilot:
        log_pane = app.screen.query_one(LogPane)
        assert not log_pane.display
        await pilot.press("l")
        assert log_pane.display
        structlog.get_logger("test").warning("wall pulled", symbol="BTCUSDT")
        app.main_screen.refresh_log()
        await pilot.pause()
        assert any("wall pulled symbol=BTCUSDT" in line.text for line in log_pane.lines)
    close_logging()
    assert "wall pulled" in (tmp_path / "app.log").read_text()


def test_an_event_line_names_its_symbol_once() -> None:
    said = AppEvent(0, "signal", "bounce Sell ETHUSDT @ 3642.1", "ETHUSDT", {})
    unsaid = AppEvent(0, "resync", "book invalid", "ETHUSDT", {})
    assert event_line(said).plain == "00:00:00 signal: bounce Sell ETHUSDT @ 3642.1"
    assert event_line(unsaid).plain == "00:00:00 resync ETHUSDT: book invalid"
