"""A titled pane of the main screen; the panes' content widgets replace its placeholder."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class Pane(Vertical):
    """A bordered region with a title, showing `placeholder` until it has content."""

    DEFAULT_CSS = """
    Pane {
        border: round $panel-lighten-2;
        border-title-color: $primary;
        border-title-style: bold;
        padding: 0 1;
    }
    Pane:focus-within {
        border: round $primary;
    }
    Pane > .pane--placeholder {
        color: $text-muted;
        width: 100%;
        height: 1fr;
        content-align: center middle;
    }
    """

    def __init__(self, title: str, placeholder: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Static(self._placeholder, classes="pane--placeholder")
