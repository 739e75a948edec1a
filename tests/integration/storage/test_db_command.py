"""`densitytui db migrate` and `densitytui db info`, run through the real CLI entry point."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from densitytui.cli import main
from densitytui.config import StorageSection
from densitytui.model import AppEvent
from densitytui.storage import open_store

PASSWORD = "pw-Never-Printed"


def _config_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\nurl = "{url}"\nretention_days = 7\n', encoding="utf-8")
    return path


def test_migrate_then_info_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli" / "densitytui.db"
    assert main(["db", "migrate", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"sqlite {db}", "applied 0001_initial, 0002_engine", "schema version 2",
    ]
    assert main(["--db", str(db), "db", "migrate"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["no pending migrations", "schema version 2"]

    async def write_one() -> None:
        async with await open_store(StorageSection(url=f"sqlite:///{db}")) as store:
            await store.append_event(AppEvent(1, "start", "app started"))

    asyncio.run(write_one())
    assert main(["db", "info", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "backend         sqlite", f"location        {db}", "schema version  2 (up to date)",
    ]
    assert "note            journal mode wal" in lines
    counts = dict(line.split() for line in lines[lines.index("rows per table") + 1:])
    assert counts == {
        "signals": "0", "decisions": "0", "orders": "0", "fills": "0", "positions": "0",
        "position_events": "0",
        "densities": "0", "events": "1", "market_stats": "0", "coin_parameters": "0",
        "state": "0",
    }


def test_info_on_a_missing_file_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "absent" / "densitytui.db"
    assert main(["db", "info", "--db", str(db)]) == 1
    assert f"no database at {db}" in capsys.readouterr().err
    assert not db.parent.exists()


def test_db_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["db"])
    assert exited.value.code == 2
    assert "required: ACTION" in capsys.readouterr().err


@pytest.mark.postgres
def test_postgres_through_the_config_file_hides_the_password(
    postgres_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = asyncio.run(postgres_server.create_database())
    config = _config_file(tmp_path, postgres_server.dsn(name, password=PASSWORD))
    shown = f"postgresql://densitytui:***@127.0.0.1:{postgres_server.port}/{name}"

    assert main(["--config", str(config), "db", "info"]) == 0
    before = capsys.readouterr().out
    assert f"location        {shown}" in before
    assert "schema version  0 (latest is 2: run `densitytui db migrate`)" in before
    assert "(no tables yet)" in before

    assert main(["db", "migrate", "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"postgresql {shown}", "applied 0001_initial, 0002_engine", "schema version 2",
    ]
    assert main(["db", "info", "--config", str(config)]) == 0
    after = capsys.readouterr().out
    assert "backend         postgresql" in after
    assert "note            TimescaleDB not installed, plain tables" in after
    assert "  market_stats" in after
    assert PASSWORD not in before + after


@pytest.mark.postgres
def test_an_unreachable_server_fails_with_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config_file(tmp_path, f"postgresql://densitytui:{PASSWORD}@127.0.0.1:{port}/x")
    assert main(["db", "migrate", "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        f"densitytui db migrate: cannot connect to postgresql://densitytui:***@127.0.0.1:{port}/x"
    )
    assert PASSWORD not in error
