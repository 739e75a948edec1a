"""Where densitytui keeps its files, and where the files it ships are found.

`themes/` and `config.toml` live at the top of the repository and are copied into the wheel as
`densitytui/themes` and `densitytui/default_config.toml`; an editable install or a source checkout
reads them from the repository instead.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "densitytui"
PACKAGE_DIR = Path(__file__).resolve().parent
_SHIPPED = {"config.toml": "default_config.toml", "themes": "themes"}


def packaged_file(name: str) -> Path:
    """A file shipped with the package: `config.toml` or `themes`."""
    installed = PACKAGE_DIR / _SHIPPED[name]
    if installed.exists():
        return installed
    return PACKAGE_DIR.parent / name


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def user_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def default_db_path() -> Path:
    return user_data_dir() / "densitytui.db"


def default_log_path() -> Path:
    return user_state_dir() / "densitytui.log"


def theme_names() -> list[str]:
    """Themes a config may choose: the files in the shipped `themes/` without `.toml`."""
    return sorted(path.stem for path in packaged_file("themes").glob("*.toml"))
