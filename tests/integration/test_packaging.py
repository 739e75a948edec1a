"""The wheel carries what a non-editable install needs: themes, default config, TCSS, SQL."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_themes_and_default_config(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("densitytui-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(unpacked)
    for name in ("dark", "light", "contrast"):
        assert f"densitytui/themes/{name}.toml" in names
    assert "densitytui/default_config.toml" in names
    assert "densitytui/ui/app.tcss" in names
    assert any(n.startswith("densitytui/storage/migrations/") and n.endswith(".sql") for n in names)

    probe = (
        "import densitytui.paths as p, densitytui.ui.themes as t, densitytui.config as c\n"
        f"assert p.PACKAGE_DIR.is_relative_to(p.Path(r'{unpacked}')), p.PACKAGE_DIR\n"
        "print(','.join(p.theme_names()))\n"
        "print(c.find_config().name)\n"
        "print(t.load_theme('contrast').name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(unpacked), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["contrast,dark,light", "default_config.toml", "densitytui-contrast"]
