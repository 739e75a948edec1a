"""Colour themes: TOML files turned into Textual themes.

The shipped files live in `themes/`; users may add their own in the config dir's `themes/`. Each
file is validated, so a broken theme names its file and key instead of failing in the CSS. The
trading colours (`$bid`, `$ask`, `$bid-density`...) are theme variables with fallbacks here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError
from textual.color import Color, ColorParseError
from textual.theme import Theme

from densitytui.paths import packaged_file, theme_names, user_config_dir

THEME_VARIABLES = {
    "bid": "#3FB950",
    "ask": "#F85149",
    "density": "#E0B84C",
    "bid-density": "#2EA043",
    "ask-density": "#DA3633",
    "entry": "#4EA1D3",
    "stop": "#FF7B72",
    "live": "#FF0000",
}
"""Trading colours the widgets' TCSS uses (`$bid`, `$ask`, `$density`...), with fallbacks."""


def _colour(value: str) -> str:
    """A colour Textual can parse (`#RRGGBB`, `rgb(...)`, a name...): checked here, because a
    bad one would otherwise stop the app when the theme is applied, far from its file."""
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{value!r} is not a colour") from None
    return value


Colour = Annotated[str, AfterValidator(_colour)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    dark: bool
    primary: Colour
    secondary: Colour
    accent: Colour
    foreground: Colour
    background: Colour
    surface: Colour
    panel: Colour
    success: Colour
    warning: Colour
    error: Colour
    variables: dict[VariableName, Colour] = {}


class ThemeError(Exception):
    pass


@dataclass(slots=True)
class UserThemes:
    """What loading the user's theme dir gave: themes, and one line per file that failed."""

    directory: Path
    loaded: list[Theme] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def load_theme_file(path: Path) -> Theme:
    """One theme file; `ThemeError` names the file and what is wrong with it."""
    try:
        spec = ThemeFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except UnicodeDecodeError as exc:
        raise ThemeError(f"theme file {path} is not UTF-8 text: {exc.reason}") from None
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ThemeError(f"theme file {path} is invalid: {exc}") from None
    return Theme(**spec.model_dump())


def load_theme(name: str) -> Theme:
    """A shipped theme by file name (`dark`, `light`, `contrast`)."""
    path = packaged_file("themes") / f"{name}.toml"
    if not path.exists():
        available = ", ".join(theme_names())
        raise ThemeError(f"theme {name!r} not found; available: {available}")
    return load_theme_file(path)


def shipped_themes() -> list[Theme]:
    return [load_theme(name) for name in theme_names()]


def user_themes_dir() -> Path:
    return user_config_dir() / "themes"


def load_user_themes(directory: Path | None = None) -> UserThemes:
    """Every `*.toml` in the user's theme dir (absent dir: none), the broken ones reported."""
    found = UserThemes(directory or user_themes_dir())
    if not found.directory.is_dir():
        return found
    for path in sorted(found.directory.glob("*.toml")):
        try:
            found.loaded.append(load_theme_file(path))
        except ThemeError as exc:
            found.failed.append(str(exc))
    return found
