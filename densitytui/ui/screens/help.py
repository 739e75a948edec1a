"""The help screen: every binding with the keys it has now, so a remap in `[keys]` shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from densitytui.config import KeysSection
from densitytui.ui.keymap import DESCRIPTIONS, key_display


def bindings_table(keys: KeysSection, others: Sequence[Binding] = ()) -> Table:
    """The `[keys]` bindings with their current keys, then `others`: the live bindings of the
    app that have no id in `[keys]` (a replay's pause, step and speed keys)."""
    table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column("Keys", no_wrap=True)
    table.add_column("Action")
    table.add_column("id", style="dim", no_wrap=True)
    for binding_id, description in DESCRIPTIONS.items():
        table.add_row(key_display(getattr(keys, binding_id)), description, binding_id)
    for binding in others:
        table.add_row(key_display(binding.key), binding.tooltip or binding.description, "")
    return table


def unlisted_bindings(app: App[object]) -> list[Binding]:
    """The app's bindings (its own and its subclass's) that `[keys]` does not list, as Textual
    holds them now: what else the trader can press."""
    found: dict[str, Binding] = {}
    for bindings in app._bindings.key_to_bindings.values():
        for binding in bindings:
            if binding.id in DESCRIPTIONS or binding.system or not binding.description:
                continue
            if binding.action in ("quit", "command_palette"):
                continue
            shown = found.get(binding.action)
            keys = f"{shown.key},{binding.key}" if shown else binding.key
            found[binding.action] = Binding(keys, binding.action, binding.description,
                                            tooltip=binding.tooltip)
    return list(found.values())


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

    def __init__(self, keys: KeysSection, others: Sequence[Binding] = ()) -> None:
        super().__init__()
        self.keys = keys
        self.others = tuple(others)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = r"Keys (remap them in \[keys] of config.toml)"
            yield Static(bindings_table(self.keys, self.others), id="help-table")

    def on_mount(self) -> None:
        closing = ",".join((self.keys.help, self.keys.quit))
        for key in closing.split(","):
            self._bindings.bind(key.strip(), "dismiss", "Close", show=False)
