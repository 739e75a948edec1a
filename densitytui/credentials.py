"""API keys: from the environment or a file only its owner can read, never from config.toml.

Loaded values are registered with the log redactor at once, so they cannot reach the log file
even by accident; `repr` never shows them either.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from densitytui.logging import register_secret

ENV_KEY = "BYBIT_API_KEY"
ENV_SECRET = "BYBIT_API_SECRET"
ENV_FILE = "DENSITYTUI_SECRETS_FILE"


class CredentialsError(Exception):
    """Keys are missing, half given, or kept in a file others can read."""


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return "Credentials(api_key=***, api_secret=***)"

    def mask(self, text: str) -> str:
        """`text` with the key and the secret replaced by ***: Bybit quotes the signed string,
        key included, in its answer to a bad signature (10004), and such answers are shown,
        stored and logged."""
        for value in (self.api_key, self.api_secret):
            if value:
                text = text.replace(value, "***")
        return text


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Keys from BYBIT_API_KEY/BYBIT_API_SECRET, else DENSITYTUI_SECRETS_FILE; None if neither."""
    env = os.environ if environ is None else environ
    values = {name: env[name] for name in (ENV_KEY, ENV_SECRET) if env.get(name)}
    if not values and env.get(ENV_FILE):
        values = _read_secrets_file(Path(env[ENV_FILE]).expanduser())
    if not values:
        return None
    missing = [name for name in (ENV_KEY, ENV_SECRET) if not values.get(name)]
    if missing:
        raise CredentialsError(f"{' and '.join(missing)} missing: give both the key and the secret")
    credentials = Credentials(values[ENV_KEY], values[ENV_SECRET])
    register_secret(credentials.api_key)
    register_secret(credentials.api_secret)
    return credentials


def _read_secrets_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines; the file must be a regular file with no group or other permissions."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialsError(f"{ENV_FILE} names {path}, which does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"{path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise CredentialsError(
            f"{path} has mode {mode:04o}: others can read it; run `chmod 600 {path}`"
        )
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        if not sep or name.strip() not in (ENV_KEY, ENV_SECRET):
            raise CredentialsError(
                f"{path} line {number}: expected {ENV_KEY}=... or {ENV_SECRET}=..."
            )
        values[name.strip()] = value.strip().strip("\"'")
    return values
