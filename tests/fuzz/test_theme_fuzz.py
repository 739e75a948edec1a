"""Fuzzed theme files: `load_theme_file` returns a theme Textual can apply (its colour system
generates, every variable is a colour) or raises `ThemeError` naming the file; nothing else
escapes, so a broken user theme is one line in the app, not a crash when it is applied.

The files start from the shipped themes and are mutated at any key: a value of the wrong type,
a string that is not a colour, a key removed or added, a variable with a bad name; and damaged
bytes (broken TOML, invalid UTF-8). Hypothesis runs derandomized with bounded examples
(DENSITYTUI_FUZZ_EXAMPLES); each refusal is counted under its cause.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from fuzz_tally import EXAMPLES, Tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.color import Color

from densitytui.paths import packaged_file, theme_names
from densitytui.ui.themes import ThemeError, load_theme_file

FUZZ = settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TALLY = Tally("theme")
SHIPPED = {name: packaged_file("themes") / f"{name}.toml" for name in theme_names()}
PARSED = {name: tomllib.loads(path.read_text()) for name, path in SHIPPED.items()}
REMOVED = object()

wrong_types = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=1),
)
not_colours = st.one_of(
    st.sampled_from(["", "#12345", "#GGGGGG", "rgb(300,0,0)", "hsl(x)", "red;", "$bid",
                     "#FFF #000", "x" * 5000, "ansi_nothing", "\x00", "💥"]),
    st.text(max_size=12),
)
names = st.one_of(st.sampled_from(["", " ", "bid density", "1st", "-x", "a" * 200]),
                  st.text(max_size=8))


def _write(directory: Path, content: bytes) -> Path:
    path = directory / "fuzzed.toml"
    path.write_bytes(content)
    return path


def _load(path: Path, target: str) -> None:
    try:
        theme = load_theme_file(path)
    except ThemeError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message.split(":")[0], message
        lines = message.removeprefix(f"theme file {path} ").splitlines()
        # A validation error's cause is the field it names, on its second line.
        TALLY.refused(target, lines[1] if len(lines) > 1 and "validation" in lines[0] else lines[0])
        return
    theme.to_color_system().generate()
    for name, value in theme.variables.items():
        assert Color.parse(value) is not None, name
    TALLY.accepted(target)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("themes")


def _mutated(base: str, key: tuple[str, ...], value: Any) -> bytes:
    spec = tomllib.loads(tomli_w.dumps(PARSED[base]))
    table = spec
    for part in key[:-1]:
        table = table[part]
    if value is REMOVED:
        table.pop(key[-1], None)
    else:
        table[key[-1]] = value
    return tomli_w.dumps(spec).encode()


def _keys(base: str) -> list[tuple[str, ...]]:
    spec = PARSED[base]
    keys = [(k,) for k in spec if k != "variables"]
    return keys + [("variables", k) for k in spec.get("variables", {})]


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)), st.data())
def test_a_value_of_the_wrong_type_or_no_colour_is_refused(folder: Path, base: str,
                                                            data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(_keys(base)))
    value = data.draw(st.one_of(wrong_types, not_colours, st.just(REMOVED)))
    _load(_write(folder, _mutated(base, key, value)), "values")


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)), names, st.one_of(not_colours, st.just("#102030")))
def test_a_variable_with_a_bad_name_or_colour_is_refused(folder: Path, base: str, name: str,
                                                          colour: str) -> None:
    _load(_write(folder, _mutated(base, ("variables", name), colour)), "variables")


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)), st.integers(0, 2000), st.binary(min_size=1, max_size=6))
def test_damaged_bytes_are_refused_or_harmless(folder: Path, base: str, at: int,
                                               junk: bytes) -> None:
    raw = SHIPPED[base].read_bytes()
    at = min(at, len(raw))
    _load(_write(folder, raw[:at] + junk + raw[at + len(junk):]), "bytes")


@pytest.mark.parametrize(("key", "value"), [
    (("primary",), "not-a-colour"),          # passed the loader, stopped the app when applied
    (("variables", "bid"), "#12"),           # a trading colour the widgets' TCSS uses
    (("variables", "bid density"), "#102030"),
    (("name",), ""),
], ids=["primary", "variable-colour", "variable-name", "empty-name"])
def test_each_case_the_fuzzing_found_is_refused(folder: Path, key: tuple[str, ...],
                                                value: str) -> None:
    with pytest.raises(ThemeError, match=r"fuzzed\.toml"):
        load_theme_file(_write(folder, _mutated("dark", key, value)))


def test_a_theme_file_that_is_not_utf8_is_refused(folder: Path) -> None:
    with pytest.raises(ThemeError, match="not UTF-8"):
        load_theme_file(_write(folder, SHIPPED["dark"].read_bytes() + b"\n# \xff\xfe\n"))
