"""The densitytui Textual app: the trader's screen.

The app renders engine state and sends commands to the engine; it never talks to an exchange
(nothing here imports a venue). The engine runs in a Textual worker of this app; the main screen
reads its snapshots on a timer. Close-all is a priority binding of the app itself, so it works over
every dialog and screen.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from typing import ClassVar, Protocol

import structlog
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from densitytui.config import Config, KeysSection
from densitytui.engine.state import EngineControl
from densitytui.storage import Store, StoreError, open_store
from densitytui.ui.alerts import Alerter
from densitytui.ui.keymap import changed_keys
from densitytui.ui.screens.confirm import ConfirmScreen
from densitytui.ui.screens.help import HelpScreen, unlisted_bindings
from densitytui.ui.screens.main import MainScreen
from densitytui.ui.themes import (
    THEME_VARIABLES,
    load_theme,
    load_user_themes,
    shipped_themes,
)
from densitytui.ui.widgets.log_pane import LogPane

log = structlog.get_logger("densitytui.ui")
KEYS = KeysSection()


class RunnableEngine(EngineControl, Protocol):
    """The trading engine as the app drives it: started, run until stopped, stopped on quit."""

    async def start(self) -> None: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


EngineFactory = Callable[[Store], Awaitable[RunnableEngine]]
"""Builds the engine on the opened store (the command line knows the venue; the app does not)."""


class DensityApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "densitytui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            KEYS.close_all, "close_all", "CLOSE ALL", priority=True, id="close_all",
            tooltip="Close every position and cancel every order",
        ),
        Binding(KEYS.command_palette, "command_palette", "Palette", show=False, priority=True,
                id="command_palette"),
    ]

    def __init__(self, config: Config, engine_factory: EngineFactory | None = None) -> None:
        super().__init__()
        self.config = config
        self.keys = config.keys
        self.engine_factory = engine_factory
        self.engine: RunnableEngine | None = None
        self.store: Store | None = None
        self._store_worker: Worker[None]
        self._engine_worker: Worker[None] | None = None
        for theme in shipped_themes():
            self.register_theme(theme)
        self.user_themes = load_user_themes() if config.ui.user_themes else None
        user_loaded = self.user_themes.loaded if self.user_themes else []
        self._user_theme_names = [theme.name for theme in user_loaded]
        for theme in user_loaded:
            self.register_theme(theme)
        self.theme = load_theme(config.app.theme).name
        self.main_screen = MainScreen(config)
        self.alerter = Alerter(config.alerts, self.bell)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def get_default_screen(self) -> Screen[None]:
        return self.main_screen

    def on_mount(self) -> None:
        self.set_keymap(changed_keys(self.keys))
        self._report_user_themes()
        self._store_worker = self.run_worker(self._open_store(), name="open store")

    def _report_user_themes(self) -> None:
        found = self.user_themes
        if found is None or not (found.loaded or found.failed):
            return
        names = ", ".join(theme.name for theme in found.loaded) or "none"
        log.info("user themes", directory=str(found.directory), loaded=names, failed=found.failed)
        message = f"Themes from {found.directory}: loaded {names}"
        if found.failed:
            message += "; failed: " + "; ".join(found.failed)
        self.notify(message, severity="error" if found.failed else "information", timeout=10)

    async def _run_engine(self, engine: RunnableEngine) -> None:
        await engine.start()
        # Everything built so far (the app, its screens, the engine and its books) lives as
        # long as the app: once the garbage is gone, the collector stops walking the rest, so a
        # full collection pauses the screen and the engine for about 10 ms instead of 50.
        gc.collect()
        gc.freeze()
        await engine.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The engine's worker ending is shown at once: the status bar and a notification."""
        if event.worker is not self._engine_worker or event.state not in (
            WorkerState.ERROR, WorkerState.SUCCESS
        ):
            return
        error = event.worker.error
        reason = f"ENGINE STOPPED: {error}" if error else "ENGINE STOPPED"
        log.error("engine stopped", error=str(error) if error else "")
        self.main_screen.engine_stopped(reason)
        self.notify(reason, severity="error", timeout=30)

    async def _open_store(self) -> None:
        """Open the database (migrating it), then build the engine on it and start it."""
        try:
            self.store = await open_store(self.config.storage)
        except StoreError as exc:
            log.error("database unavailable", error=str(exc))
            self.notify(f"Database unavailable: {exc}", severity="error", timeout=15)
            if self.engine_factory is not None:
                self.main_screen.engine_stopped("NO DATABASE: engine not started")
            return
        log.info(
            "database ready",
            backend=self.store.backend,
            location=self.store.location,
            schema_version=await self.store.schema_version(),
        )
        if self.engine_factory is None:
            return
        try:
            engine = await self.engine_factory(self.store)
        except Exception as exc:
            log.exception("engine not built")
            self.main_screen.engine_stopped(f"ENGINE NOT STARTED: {exc}")
            self.notify(f"Engine not started: {exc}", severity="error", timeout=30)
            return
        self.engine = engine
        self.main_screen.attach(engine)
        self._engine_worker = self.run_worker(
            self._run_engine(engine), name="engine", exit_on_error=False
        )

    async def on_unmount(self) -> None:
        """Stop the engine, then close the database, even if it is still being opened."""
        gc.unfreeze()
        if self.engine is not None:
            await self.engine.stop()
        await self.alerter.drain()
        workers = [self._store_worker, self._engine_worker]
        for worker in workers:
            if worker is not None and not worker.is_finished:
                worker.cancel()
                with suppress(WorkerCancelled, WorkerFailed):
                    await worker.wait()
        if self.store is not None:
            await self.store.close()
            self.store = None

    # ---- commands --------------------------------------------------------------------------

    def send(self, command: Callable[[], Awaitable[None]]) -> None:
        """Run one engine command without blocking the screen; a failure is shown, not raised."""

        async def run() -> None:
            try:
                await command()
            except Exception as exc:  # the contract says commands refuse by event; be safe
                log.exception("engine command failed")
                self.notify(f"Command failed: {exc}", severity="error", timeout=15)

        self.run_worker(run(), group="commands")

    def action_close_all(self) -> None:
        if isinstance(self.screen, ConfirmScreen) and self.screen.name == "close-all":
            return
        engine = self.engine

        def close(yes: bool | None) -> None:
            if yes and engine is not None:
                self.send(engine.close_all)

        self.push_screen(
            ConfirmScreen("CLOSE ALL positions and cancel all orders?", name="close-all"), close
        )

    async def action_quit(self) -> None:
        """Quit, asking first when positions are open (they stay open on the exchange)."""
        snapshot = self.main_screen.snapshot
        count = len(snapshot.positions) if snapshot is not None else 0
        if not count:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen) and self.screen.name == "quit":
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmScreen(
                f"{count} position(s) open. Quit anyway? They stay open, with their stops.",
                name="quit",
            ),
            answer,
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keys, unlisted_bindings(self)))

    def action_toggle_log(self) -> None:
        self.main_screen.query_one(LogPane).toggle_class("-visible")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        venue = self.config.app.venue
        yield SystemCommand(
            "Venue", f"Show the venue: {venue}",
            lambda: self.notify(f"Venue {venue.upper()}, mode {self.config.app.mode.value}"),
        )
        for name in sorted(self.available_themes):
            if name.startswith("densitytui-") or name in self._user_theme_names:
                yield SystemCommand(
                    f"Theme {name}", f"Switch to the {name} theme",
                    lambda name=name: setattr(self, "theme", name),
                )
        snapshot = self.main_screen.snapshot
        for row in snapshot.movers if snapshot is not None else ():
            yield SystemCommand(
                f"Symbol {row.symbol}",
                f"Show {row.symbol} on the ladder ({row.change_24h_pct:+.1f}%)",
                lambda symbol=row.symbol: self.main_screen.show_symbol(symbol),
            )
