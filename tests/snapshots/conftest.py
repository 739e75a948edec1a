"""Snapshot tests drive the app the way the UI integration tests do: share their helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration" / "ui"))
