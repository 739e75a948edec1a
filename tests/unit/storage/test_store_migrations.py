"""Migration files: one text per version, filled per backend, no gaps."""

from __future__ import annotations

import re

import pytest

from densitytui.storage.base import TABLES
from densitytui.storage.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    MigrationError,
    parse_migrations,
)
from densitytui.storage.postgres import POSTGRES, numbered, timescale_statements
from densitytui.storage.sql import Dialect
from densitytui.storage.sqlite import SQLITE

CREATE_TABLE = re.compile(r"CREATE TABLE (\w+)")


def test_packaged_migrations_are_numbered_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert MIGRATIONS[0].label == "0001_initial"


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRES], ids=lambda d: d.name)
def test_every_placeholder_is_filled_for_each_backend(dialect: Dialect) -> None:
    statements = [s for m in MIGRATIONS for s in m.statements(dialect.types)]
    assert not [s for s in statements if "{" in s or "}" in s]
    created = {match[1] for s in statements if (match := CREATE_TABLE.match(s))}
    assert created == set(TABLES)


def test_comments_are_not_statements() -> None:
    text = "-- a; b {nothing}\nCREATE TABLE t (a {bigint});"
    (migration,) = parse_migrations({"0001_x.sql": text})
    assert migration.statements(SQLITE.types) == ["CREATE TABLE t (a INTEGER)"]


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"0002_b.sql": ""}, "0002_b: expected version 1"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "0001_b: expected version 2"),
        ({"1_a.sql": ""}, "named NNNN_name.sql"),
    ],
)
def test_bad_migration_sets_are_refused(files: dict[str, str], problem: str) -> None:
    with pytest.raises(MigrationError, match=re.escape(problem)):
        parse_migrations(files)


def test_an_unknown_placeholder_is_named() -> None:
    (migration,) = parse_migrations({"0001_a.sql": "CREATE TABLE t (a {decimal})"})
    with pytest.raises(MigrationError, match="0001_a: bad placeholder 'decimal'"):
        migration.statements(SQLITE.types)


def test_postgres_placeholders_are_numbered_in_order() -> None:
    assert numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
    )
    assert numbered("SELECT 1") == "SELECT 1"


def test_timescale_retention_is_in_milliseconds_for_both_history_tables() -> None:
    statements = timescale_statements(retention_days=30)
    policies = [s for s in statements if "add_retention_policy" in s]
    assert policies == [
        "SELECT add_retention_policy('densities', drop_after => 2592000000::BIGINT)",
        "SELECT add_retention_policy('market_stats', drop_after => 2592000000::BIGINT)",
    ]
    assert sum("create_hypertable" in s and "86400000::BIGINT" in s for s in statements) == 2
