"""The in-app view of the JSON log: the same records the log file receives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}
SKIPPED_KEYS = ("event", "level", "timestamp", "logger")


def format_record(record: Mapping[str, Any]) -> Text:
    """`HH:MM:SS level event key=value ...` on one line, styled by level."""
    time = str(record.get("timestamp", ""))[11:19]
    level = str(record.get("level", "info"))
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in SKIPPED_KEYS)
    text = f"{time} {level:<7} {record.get('event', '')} {extras}".rstrip()
    return Text(text, style=LEVEL_STYLES.get(level, ""))


class LogPane(RichLog):
    """Shows new log records; the app feeds it from the log tail on a timer."""

    DEFAULT_CSS = """
    LogPane {
        height: 8;
        border: round $panel-lighten-2;
        border-title-color: $primary;
        background: $surface;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=False, max_lines=500)
        self.border_title = "Log"
        self._shown = 0

    def show_records(self, records: Sequence[Mapping[str, Any]], total: int) -> None:
        """Append the records not shown yet; `total` counts every record ever logged."""
        unseen = min(total - self._shown, len(records))
        for record in islice(records, len(records) - unseen, None) if unseen > 0 else ():
            self.write(format_record(record))
        self._shown = total
