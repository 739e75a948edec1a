"""The densitytui Textual app: the trader's screen.

The app renders engine state and sends commands to the engine; it never talks to an exchange.
"""

from __future__ import annotations

from contextlib import suppress
from typing import ClassVar

import structlog
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from densitytui import __version__
from densitytui.config import Config
from densitytui.logging import tail
from densitytui.storage import Store, StoreError, open_store
from densitytui.ui.themes import THEME_VARIABLES, load_theme
from densitytui.ui.widgets.log_pane import LogPane
from densitytui.ui.widgets.pane import Pane

log = structlog.get_logger("densitytui.ui")


class DensityApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "densitytui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("l", "toggle_log", "Log"),
    ]

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.store: Store | None = None
        self._store_worker: Worker[None]
        theme = load_theme(config.app.theme)
        self.register_theme(theme)
        self.theme = theme.name
        self.sub_title = f"venue {config.app.venue} · mode {config.app.mode.value} · v{__version__}"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield Pane("Movers", "Top gainers and losers appear here.", id="movers")
            yield Pane("Book", "The selected symbol's order book appears here.", id="book")
            with Vertical(id="side"):
                yield Pane("Signals", "No signals yet.", id="signals")
                yield Pane("Positions", "No open positions.", id="positions")
        yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._refresh_log)
        self._store_worker = self.run_worker(self._open_store(), name="open store")

    async def _open_store(self) -> None:
        """Open the database and apply pending migrations, off the UI's critical path."""
        try:
            self.store = await open_store(self.config.storage)
        except StoreError as exc:
            log.error("database unavailable", error=str(exc))
            self.notify(f"Database unavailable: {exc}", severity="error", timeout=15)
            return
        log.info(
            "database ready",
            backend=self.store.backend,
            location=self.store.location,
            schema_version=await self.store.schema_version(),
        )

    async def on_unmount(self) -> None:
        """Close the database, even when the app quits while it is still being opened."""
        worker = self._store_worker
        if not worker.is_finished:
            worker.cancel()
            with suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        if self.store is not None:
            await self.store.close()
            self.store = None

    def _refresh_log(self) -> None:
        self.query_one(LogPane).show_records(tail.records, tail.count)

    def action_toggle_log(self) -> None:
        self.query_one(LogPane).toggle_class("-visible")
