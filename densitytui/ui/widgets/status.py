"""The status bar: venue badge, mode, feed health, account figures and the UTC clock.

Every part is a label whose classes carry its state (`-live`, `-stale`...), so colours come from
the theme; a label is only updated when its text or state changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from densitytui.engine.state import EngineSnapshot, FeedState


def feed_text(
    snapshot: EngineSnapshot, stalled_s: float | None, quiet_s: float
) -> tuple[str, str]:
    """The feed label and its state class: an engine stall first, then the stream's state;
    a stream silent for `quiet_s` is flagged before the engine calls it stale."""
    status = snapshot.status
    if stalled_s is not None:
        return f"ENGINE STALLED {stalled_s:.0f}s", "-bad"
    latency = f" {status.latency_ms:.0f}ms" if status.latency_ms is not None else ""
    age_s = status.data_age_ms / 1000
    age = f" no data {age_s:.1f}s" if age_s >= quiet_s else ""
    if status.feed is FeedState.STALE:
        return f"FEED STALE no data {age_s:.0f}s", "-bad"
    if status.feed is FeedState.STOPPED:
        return "FEED STOPPED", "-bad"
    text = f"feed {status.feed.value}{latency}{age}"
    return text, "-ok" if status.feed is FeedState.LIVE and not age else "-warn"


def account_text(snapshot: EngineSnapshot) -> str:
    status = snapshot.status
    return (
        f"eq {status.equity:,.2f} USDT  exp {status.exposure_usdt:,.0f} USDT  "
        f"day {status.day_pnl:+,.2f} USDT"
    )


# When the line is too narrow these parts go, first to last; the account figures never do.
DROP_ORDER = ("clock", "title", "signals")


def clock_text(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%H:%M:%S UTC")


class StatusBar(Horizontal):
    """One line at the top of the main screen."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
    }
    StatusBar > Label {
        padding: 0 1;
        height: 1;
    }
    StatusBar > #status-venue { text-style: bold; background: $secondary; color: $background; }
    StatusBar > #status-venue.-live { background: $live; color: $text; }
    StatusBar > #status-venue.-testnet { background: $warning; color: $background; }
    StatusBar > #status-venue.-demo { background: $accent; color: $background; }
    StatusBar > #status-venue.-paper { background: $primary; color: $background; }
    StatusBar > #status-venue.-sim { background: $success; color: $background; }
    StatusBar > #status-venue.-replay { background: $secondary; color: $background; }
    StatusBar > #status-mode { text-style: bold; }
    StatusBar > #status-mode.-auto { color: $warning; }
    StatusBar > #status-mode.-paused { color: $error; }
    StatusBar > .-ok { color: $success; }
    StatusBar > .-warn { color: $warning; }
    StatusBar > .-bad { background: $error; color: $text; text-style: bold; }
    StatusBar > #status-signals.-pending { background: $accent; color: $background; }
    StatusBar > #status-title { color: $accent; }
    StatusBar > #status-account { width: 1fr; content-align: right middle; }
    """

    def __init__(self, venue: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._venue = venue
        self._shown: dict[str, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        yield Label(self._venue.upper(), id="status-venue", classes=f"-{self._venue}")
        yield Label("", id="status-mode")
        yield Label("engine starting", id="status-feed", classes="-warn")
        yield Label("", id="status-signals")
        yield Label("", id="status-title")
        yield Label("", id="status-account")
        yield Label("", id="status-clock")

    def _set(self, name: str, text: str, state: str = "") -> None:
        if self._shown.get(name) == (text, state):
            return
        label = self.query_one(f"#status-{name}", Label)
        old_text, old_state = self._shown.get(name, ("", ""))
        if old_state:
            label.remove_class(old_state)
        if state:
            label.add_class(state)
        # A text of the same width (the clock, most equity moves) needs no new layout; a
        # layout reflows the whole screen, and this runs several times a second.
        label.update(text, layout=cell_len(text) != cell_len(old_text) or name not in self._shown)
        self._shown[name] = (text, state)

    def show(self, snapshot: EngineSnapshot, stalled_s: float | None, quiet_s: float) -> None:
        status = snapshot.status
        mode = status.mode.value.upper()
        if status.entries_paused:
            self._set("mode", f"{mode} PAUSED", "-paused")
        elif status.blocked_reason:
            self._set("mode", f"{mode} blocked: {status.blocked_reason}", "-paused")
        else:
            self._set("mode", mode, "-auto" if mode == "AUTO" else "")
        self._set("feed", *feed_text(snapshot, stalled_s, quiet_s))
        count = len(snapshot.signals)
        self._set("signals", f"{count} signal{'s' if count != 1 else ''}" if count else "",
                  "-pending" if count else "")
        account = account_text(snapshot)
        if not status.store_ok:
            self._set("account", f"DB ERROR {status.store_error}  {account}", "-bad")
        else:
            self._set("account", account)
        self._set("clock", clock_text(status.now_ms))
        self._fit()

    def show_title(self, title: str) -> None:
        """What the app adds about itself (a replay's speed and recorded time); nothing, and
        no room taken, when it has nothing to add."""
        self._set("title", title)
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Hide the clock, then the title, then the signal count while the line cannot hold
        them beside the account figures (equity and exposure stay at any width)."""
        width = self.size.width
        if not width:
            return
        needed = {name: cell_len(text) + 2 for name, (text, _) in self._shown.items() if text}
        total = sum(needed.values())
        hidden = set()
        for name in DROP_ORDER:
            if total <= width:
                break
            if name in needed:
                hidden.add(name)
                total -= needed[name]
        for name in ("clock", "title", "signals"):
            label = self.query_one(f"#status-{name}", Label)
            display = name in needed and name not in hidden
            if label.display != display:
                label.display = display

    def show_no_engine(self, reason: str) -> None:
        self._set("feed", reason, "-bad")
