"""Fuzzed config files through `densitytui check-config`: exit 0 with a config whose every number
is finite, or exit 2 with the problem on stderr (one line for a file that cannot be read as TOML,
one line per bad key otherwise); never a traceback, never a DSN's password on the screen.

The files start from the shipped `config.toml` and are mutated the way the probe did: a value
of the wrong type or a non-finite number at any key, damaged bytes (invalid UTF-8 among them),
a `storage.url` carrying a password. Hypothesis runs derandomized with bounded examples.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from densitytui.cli import main
from densitytui.paths import packaged_file

SHIPPED = tomllib.loads(packaged_file("config.toml").read_text())
SHIPPED_BYTES = packaged_file("config.toml").read_bytes()
PASSWORD = "Hunter2-s3cret"
FUZZ = settings(
    derandomize=True, max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _keys(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            found.extend(_keys(value, (*prefix, key)))
        else:
            found.append((*prefix, key))
    return found


KEYS = _keys(SHIPPED)
values = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 2**63 - 1, -(2**63), 0, -1]),
    st.floats(), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.text(max_size=6),
    st.lists(st.integers(0, 5), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                              max_size=1),
)


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """check-config's exit status and its stderr lines; a traceback fails the test itself."""
    try:
        status = main(["check-config", "--config", str(path)])
    except SystemExit as exc:
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    assert status in (0, 2), status
    assert "Traceback" not in captured.err + captured.out
    assert PASSWORD not in captured.err + captured.out
    return status, captured.err.splitlines()


def _all_finite(value: Any) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _all_finite(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            _all_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _all_finite(item)
    elif isinstance(value, float):
        assert math.isfinite(value)


@FUZZ
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_at_any_key_is_accepted_finite_or_named(
    key: tuple[str, ...], value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    raw = tomllib.loads(tomli_w.dumps(SHIPPED))
    table = raw
    for part in key[:-1]:
        table = table[part]
    table[key[-1]] = value
    path = tmp_path / "fuzzed.toml"
    path.write_text(tomli_w.dumps(raw))
    status, err = _check(path, capsys)
    if status == 0:
        from densitytui.config import load_config

        config, _ = load_config(path)
        _all_finite(config)
    else:
        assert any(".".join(key) in line for line in err), err


@FUZZ
@given(at=st.integers(0, len(SHIPPED_BYTES)), junk=st.binary(min_size=1, max_size=6))
def test_damaged_bytes_give_one_line_and_exit_2_or_a_valid_config(
    at: int, junk: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "damaged.toml"
    path.write_bytes(SHIPPED_BYTES[:at] + junk + SHIPPED_BYTES[at + len(junk):])
    status, err = _check(path, capsys)
    if status == 2:
        assert err[0].startswith(f"densitytui: bad config {path}"), err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[risk]\nleverage = 10\n\xff\xfe\n", "not UTF-8 text (byte 0xff at offset 21)"),
        (b"[risk\n", "not valid TOML"),
        (b"[risk]\nposition_notional_usdt = inf\n", "risk.position_notional_usdt = inf: Input should be a finite number"),
        (b"[density]\nmin_lifetime_s = nan\n", "density.min_lifetime_s = nan: Input should be a finite number"),
        (b"[tape]\nrange_hours = [1.0, inf]\n", "tape.range_hours.1 = inf"),
        (b"[symbols.BTCUSDT.density]\nmin_notional_usdt = -inf\n", "symbols.BTCUSDT.density.min_notional_usdt = -inf"),
    ],
    ids=["invalid-utf8", "broken-toml", "inf", "nan", "inf-in-list", "inf-in-override"],
)
def test_each_case_the_probe_found_is_one_line_naming_the_problem(
    content: bytes, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    status, err = _check(path, capsys)
    assert status == 2
    assert len(err) == 1, err
    assert problem in err[0], err


def test_unreadable_paths_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path, problem in [(tmp_path, "is a directory"), (tmp_path / "none.toml", "file not found")]:
        status, err = _check(path, capsys)
        assert (status, len(err)) == (2, 1), err
        assert problem in err[0]


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://trader:{PASSWORD}@db.local/x",
        f"postgresql+asyncpg://trader:{PASSWORD}@db.local/x",
        f"postgres ql://trader:{PASSWORD}@db.local/x",
        f"host=db.local user=trader password={PASSWORD}",
        f"mysql://trader:{PASSWORD[:5]}/{PASSWORD[5:]}@db.local/x",
        f"http://db.local/x?sslmode=require&password={PASSWORD}",
    ],
)
def test_a_rejected_storage_url_never_shows_its_password(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps({"storage": {"url": url}}))
    status, err = _check(path, capsys)
    assert status == 2
    assert "storage.url" in err[0] and "***" in err[0], err
