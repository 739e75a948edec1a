"""The help screen: every binding with the keys it has now, so a remap in `[keys]` shows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from densitytui.config import KeysSection
from densitytui.ui.keymap import DESCRIPTIONS, key_display


def bindings_table(keys: KeysSection) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column("Keys", no_wrap=True)
    table.add_column("Action")
    table.add_column("id", style="dim", no_wrap=True)
    for binding_id, description in DESCRIPTIONS.items():
        table.add_row(key_display(getattr(keys, binding_id)), description, binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the bindings; the help, quit or escape keys close it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        background: $background 60%;
    }
    HelpScreen > VerticalScroll {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-color: $primary;
        background: $panel;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close", show=False)]

    def __init__(self, keys: KeysSection) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = r"Keys (remap them in \[keys] of config.toml)"
            yield Static(bindings_table(self.keys), id="help-table")

    def on_mount(self) -> None:
        closing = ",".join((self.keys.help, self.keys.quit))
        for key in closing.split(","):
            self._bindings.bind(key.strip(), "dismiss", "Close", show=False)
