"""The [keys] table (checked ids and keys), the help's coverage, user themes, and the status
bar noticing a stalled engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_app import engine_app, play, started, until
from textual.widgets import Label

from densitytui.cli import main
from densitytui.config import KeysSection, parse_config
from densitytui.ui.app import DensityApp
from densitytui.ui.keymap import DESCRIPTIONS, key_display
from densitytui.ui.themes import load_user_themes, user_themes_dir

DARK = (Path(__file__).resolve().parents[3] / "themes" / "dark.toml").read_text()


def test_check_config_names_an_unknown_binding_id_and_the_allowed_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[keys]\nclose_everything = "f9"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["check-config", "--config", str(bad)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "keys.close_everything: unknown key" in err
    for binding_id in KeysSection.model_fields:
        assert binding_id in err


@pytest.mark.parametrize(
    ("keys", "refused"),
    [("ctrl+b", "tmux prefix"), ("ctrl+enter", "never arrives"), ("escape", "escape-time"),
     ("f9,", "separated by commas")],
)
def test_keys_tmux_cannot_deliver_are_refused(keys: str, refused: str) -> None:
    with pytest.raises(Exception, match=refused):
        parse_config({"keys": {"close_all": keys}})


def test_escape_is_allowed_beside_another_key() -> None:
    assert parse_config({"keys": {"answer_no": "n, escape"}}).keys.answer_no == "n,escape"


def test_every_binding_id_has_a_line_in_the_help() -> None:
    assert list(DESCRIPTIONS) == list(KeysSection.model_fields)


def test_key_display_reads_like_the_footer() -> None:
    assert key_display("f9,ctrl+x") == "F9/^x"
    assert key_display("question_mark,f1") == "?/F1"


def test_user_themes_are_loaded_and_broken_ones_reported(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "mine.toml").write_text(DARK.replace("densitytui-dark", "mine"))
    (themes / "broken.toml").write_text('name = "broken"\ndark = true\ncolour = "red"\n')
    found = load_user_themes(themes)
    assert [theme.name for theme in found.loaded] == ["mine"]
    assert len(found.failed) == 1 and "broken.toml" in found.failed[0]


async def test_the_app_registers_user_themes_and_says_which_failed(tmp_path: Path) -> None:
    themes = user_themes_dir()
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text(DARK.replace("densitytui-dark", "mine"))
    (themes / "broken.toml").write_text("not toml [")
    app = DensityApp(parse_config({"storage": {"url": f"sqlite:///{tmp_path / 'a.db'}"}}))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "mine" in app.available_themes
        assert {"densitytui-dark", "densitytui-light", "densitytui-contrast"} <= set(
            app.available_themes
        )
        messages = [n.message for n in app._notifications]
        assert any("loaded mine" in m and "broken.toml" in m for m in messages)
        app.theme = "mine"
        await app.workers.wait_for_complete()


async def test_a_stalled_engine_is_named_in_the_status_bar(tmp_path: Path) -> None:
    """The market's clock is held, so the engine's clock stands still: after engine_stall_s of
    real time the status bar says so."""
    app, clock = engine_app(tmp_path, ui={"engine_stall_s": 0.2, "snapshot_refresh_hz": 10.0})
    async with app.run_test(size=(120, 32)) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        feed = app.main_screen.query_one("#status-feed", Label)
        await until(pilot, lambda: "ENGINE STALLED" in str(feed.content), "the stall shown")
        assert feed.has_class("-bad")
        await play(pilot, app, clock, 1)
        assert "ENGINE STALLED" not in str(feed.content)
        assert str(feed.content).startswith("feed live")
