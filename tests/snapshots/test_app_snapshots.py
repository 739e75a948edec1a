"""Pixel-exact snapshots of the app shell, one per shipped theme."""

from __future__ import annotations

import pytest

from densitytui.config import parse_config
from densitytui.paths import theme_names
from densitytui.ui.app import DensityApp


@pytest.mark.parametrize("theme", theme_names())
def test_shell(snap_compare, theme: str) -> None:
    app = DensityApp(parse_config({"app": {"theme": theme}}))
    assert snap_compare(app, terminal_size=(120, 32))
