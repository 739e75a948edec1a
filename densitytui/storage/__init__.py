"""One async store over SQLite and PostgreSQL."""
