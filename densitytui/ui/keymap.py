"""Every key binding by id: what it does, and how its current keys read on screen.

The keys themselves live in `[keys]` of the config (`KeysSection`), so one table feeds the
bindings, the keymap given to Textual, the footer and the help screen; a remap shows everywhere.
"""

from __future__ import annotations

from textual.keys import format_key

from densitytui.config import KeysSection

DESCRIPTIONS: dict[str, str] = {
    "quit": "Quit (asks first when positions are open)",
    "help": "This help: every binding with its current keys",
    "close_all": "CLOSE ALL positions and cancel orders (asks y/n; works on every screen)",
    "confirm_signal": "Signals pane: confirm the highlighted signal (send the entry)",
    "reject_signal": "Signals pane: reject the highlighted signal",
    "cycle_mode": "Cycle mode manual → semi → auto (auto asks; live asks a typed word)",
    "pause_entries": "Pause / resume new entries",
    "close_position": "Positions pane: close the highlighted position (asks)",
    "open_symbol": "Movers and Densities panes: show the highlighted symbol on the ladder",
    "sort_densities": "Densities pane: sort by the next figure (distance, USDT, multiple, age, "
    "erosion)",
    "command_palette": "Command palette: jump to symbol, theme, venue",
    "next_pane": "Focus the next pane",
    "previous_pane": "Focus the previous pane",
    "cursor_down": "Move down in the focused table",
    "cursor_up": "Move up in the focused table",
    "toggle_log": "Show / hide the log",
    "answer_yes": "Yes, in a question",
    "answer_no": "No, in a question",
}
"""One line per binding id, in the order the help screen lists them."""

DEFAULT_KEYS = KeysSection()


def key_display(keys: str) -> str:
    """`f9,ctrl+x` → `F9/^x`: how Textual's footer spells each key, joined by slashes."""
    shown = []
    for key in keys.split(","):
        *modifiers, name = key.strip().split("+")
        text = name.upper() if name[:1] == "f" and name[1:].isdigit() else format_key(name)
        if "ctrl" in modifiers:
            modifiers.remove("ctrl")
            text = f"^{text}"
        shown.append("+".join([*modifiers, text]))
    return "/".join(shown)


def changed_keys(keys: KeysSection) -> dict[str, str]:
    """The bindings the config remaps: the keymap handed to Textual."""
    return {
        name: value for name, value in keys.model_dump().items()
        if value != getattr(DEFAULT_KEYS, name)
    }
