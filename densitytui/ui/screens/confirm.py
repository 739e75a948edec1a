"""Yes/no questions and the typed-word confirmation, as modal dialogs.

The answer keys are bindings with ids (`answer_yes`, `answer_no`), so they follow the `[keys]`
table; Escape also says no, but never alone (tmux delays it), so `n` always works.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from densitytui.config import KeysSection
from densitytui.ui.keymap import key_display

KEYS = KeysSection()

DIALOG_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 60;
    max-width: 90%;
    height: auto;
    border: thick $warning;
    background: $panel;
    padding: 1 2;
}}
{name} .dialog--question {{
    width: 100%;
    text-style: bold;
    margin-bottom: 1;
}}
{name} Horizontal {{
    height: auto;
    align: center middle;
}}
{name} Button {{
    margin: 0 2;
}}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Asks one question; dismisses with True for yes, False for no."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.answer_yes, "answer(True)", "Yes", id="answer_yes"),
        Binding(KEYS.answer_no, "answer(False)", "No", id="answer_no"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.question = question

    def compose(self) -> ComposeResult:
        keys = getattr(self.app, "keys", KEYS)
        with Vertical():
            yield Label(self.question, classes="dialog--question")
            with Horizontal():
                yield Button(f"Yes ({key_display(keys.answer_yes)})", variant="error", id="yes")
                yield Button(f"No ({key_display(keys.answer_no)})", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TypedConfirmScreen(ModalScreen[bool]):
    """Asks the trader to type `word` exactly; anything else (or no) is a refusal."""

    DEFAULT_CSS = DIALOG_CSS.format(name="TypedConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(self, question: str, word: str) -> None:
        super().__init__()
        self.question = question
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="dialog--question")
            yield Label(f"Type {self.word} and press enter; anything else cancels.")
            yield Input(placeholder=self.word, id="typed")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() == self.word)

    def action_cancel(self) -> None:
        self.dismiss(False)
