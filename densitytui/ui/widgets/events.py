"""The events log: what the engine did and refused, newest at the bottom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import RichLog

from densitytui.model import AppEvent

MAX_LINES = 500


def event_line(event: AppEvent) -> Text:
    time = datetime.fromtimestamp(event.ts / 1000, UTC).strftime("%H:%M:%S")
    # Most engine messages name their symbol already: say it once.
    symbol = f" {event.symbol}" if event.symbol and event.symbol not in event.message else ""
    return Text(f"{time} {event.kind}{symbol}: {event.message}")


class EventsLog(RichLog):
    """Appends the engine's events as they come; the app feeds it from `events_since`."""

    DEFAULT_CSS = """
    EventsLog {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        # Long lines are cut at the pane's edge, as they were shown before, but without a
        # horizontal scrollbar: the log scrolling down on every write repainted that bar across
        # the pane's whole width, about a tenth of all the app wrote to the terminal. The log
        # pane (`l`) and the log file keep every message whole.
        super().__init__(id=id, wrap=False, max_lines=MAX_LINES, auto_scroll=True)
        self.seq = 0

    def append_events(self, seq: int, events: Sequence[AppEvent]) -> None:
        """One write for the whole batch: each write resizes the log, and a resize costs a
        layout of the screen."""
        if events:
            self.write(Text("\n").join(event_line(event) for event in events))
        self.seq = seq
