"""A titled pane of the main screen: a border whose colour shows where the focus is."""

from __future__ import annotations

from textual.containers import Vertical


class Pane(Vertical):
    """A bordered region with a title around one content widget."""

    DEFAULT_CSS = """
    Pane {
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        border-title-style: bold;
        height: 1fr;
    }
    Pane:focus-within {
        border: round $primary;
        border-title-color: $primary;
    }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
