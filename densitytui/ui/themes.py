"""Colour themes shipped in `themes/`: TOML files turned into Textual themes.

Each file is validated, so a broken theme names its file and key instead of failing in the CSS.
"""

from __future__ import annotations

import tomllib

from pydantic import BaseModel, ConfigDict, ValidationError
from textual.theme import Theme

from densitytui.paths import packaged_file, theme_names

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


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    dark: bool
    primary: str
    secondary: str
    accent: str
    foreground: str
    background: str
    surface: str
    panel: str
    success: str
    warning: str
    error: str
    variables: dict[str, str] = {}


class ThemeError(Exception):
    pass


def load_theme(name: str) -> Theme:
    path = packaged_file("themes") / f"{name}.toml"
    try:
        spec = ThemeFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        available = ", ".join(theme_names())
        raise ThemeError(f"theme {name!r} not found; available: {available}") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ThemeError(f"theme file {path} is invalid: {exc}") from None
    return Theme(**spec.model_dump())
