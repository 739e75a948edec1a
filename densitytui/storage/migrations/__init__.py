"""Versioned schema, written once for both backends.

Each migration is a file `NNNN_name.sql` in this package. Its column types are placeholders in
braces (`{float}`, `{bigint}`...) that each backend fills from its own mapping, so SQLite and
PostgreSQL get the same tables from the same text. Versions start at 1 and have no gaps: a
database records the highest version applied in its `schema_version` table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
PLACEHOLDERS = frozenset({"id", "series_id", "bigint", "float", "bool", "json"})


class MigrationError(Exception):
    """A migration file that cannot be used as written."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, types: Mapping[str, str]) -> list[str]:
        """The migration's statements with the placeholders filled from `types`."""
        missing = PLACEHOLDERS - types.keys()
        if missing:
            raise MigrationError(f"no column type given for {', '.join(sorted(missing))}")
        code = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        try:
            filled = code.format_map(types)
        except (KeyError, ValueError, IndexError) as exc:
            raise MigrationError(f"migration {self.label}: bad placeholder {exc}") from None
        return [statement.strip() for statement in filled.split(";") if statement.strip()]

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def parse_migrations(files: Mapping[str, str]) -> tuple[Migration, ...]:
    """Migrations from file names and texts, in order; refuse gaps, duplicates and stray names."""
    migrations: list[Migration] = []
    for file_name, sql in files.items():
        match = FILE_NAME.match(file_name)
        if match is None:
            raise MigrationError(f"{file_name}: migration files are named NNNN_name.sql")
        migrations.append(Migration(int(match[1]), match[2], sql))
    migrations.sort(key=lambda migration: migration.version)
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.label}: expected version {expected}; versions start at 1 with no "
                "gaps or repeats"
            )
    return tuple(migrations)


def _packaged() -> tuple[Migration, ...]:
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".sql")
    }
    return parse_migrations(files)


MIGRATIONS = _packaged()
LATEST_VERSION = len(MIGRATIONS)
