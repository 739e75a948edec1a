"""Keys come from the environment or a 0600 file, and are masked everywhere after loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from densitytui.config import Config
from densitytui.credentials import CredentialsError, load_credentials
from densitytui.logging import close_logging, configure_logging


def test_none_when_no_keys_are_given() -> None:
    assert load_credentials({}) is None


def test_from_environment() -> None:
    creds = load_credentials({"BYBIT_API_KEY": "envkey123", "BYBIT_API_SECRET": "envsecret456"})
    assert creds is not None
    assert (creds.api_key, creds.api_secret) == ("envkey123", "envsecret456")
    assert "envkey123" not in repr(creds) and "envsecret456" not in repr(creds)


def test_half_given_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="BYBIT_API_SECRET missing"):
        load_credentials({"BYBIT_API_KEY": "k"})


def _secrets_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "bybit.env"
    path.write_text("# demo account\nBYBIT_API_KEY=filekey789\nBYBIT_API_SECRET='filesecret012'\n")
    path.chmod(mode)
    return path


def test_from_a_0600_file(tmp_path: Path) -> None:
    path = _secrets_file(tmp_path, 0o600)
    creds = load_credentials({"DENSITYTUI_SECRETS_FILE": str(path)})
    assert creds is not None
    assert (creds.api_key, creds.api_secret) == ("filekey789", "filesecret012")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = _secrets_file(tmp_path, mode)
    with pytest.raises(CredentialsError, match=f"mode {mode:04o}: others can read it"):
        load_credentials({"DENSITYTUI_SECRETS_FILE": str(path)})


def test_unknown_line_names_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bybit.env"
    path.write_text("BYBIT_API_KEY=a\nPASSWORD=b\n")
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="line 2"):
        load_credentials({"DENSITYTUI_SECRETS_FILE": str(path)})


def test_loaded_keys_never_reach_the_log(tmp_path: Path) -> None:
    log = configure_logging(Config(), tmp_path / "l.log")
    try:
        creds = load_credentials({"BYBIT_API_KEY": "leakykey999", "BYBIT_API_SECRET": "leakysecret999"})
        assert creds is not None
        structlog.get_logger("t").error("signing failed", payload=f"key={creds.api_key}&s={creds.api_secret}")
    finally:
        close_logging()
    text = log.read_text()
    assert "signing failed" in text
    assert "leakykey999" not in text and "leakysecret999" not in text
