"""`--set key=value` on top of a config, and `key=a,b,c` as a grid of configs for a sweep.

Values are read as TOML literals (`20`, `0.5`, `true`, `"text"`, `[1.0, 4.0]`), anything else
as a string; the result is validated as a whole config file would be, so a bad key or value is
the same one-line problem `check-config` gives.
"""

from __future__ import annotations

import itertools
import tomllib
from typing import Any

from densitytui.config import Config, ConfigError, parse_config

Override = tuple[str, Any]


def parse_value(text: str) -> Any:
    """A TOML literal, else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _split(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError("--set", [f"expected KEY=VALUE, got {item!r}"])
    return key.strip(), value.strip()


def _values(text: str) -> list[Any]:
    """`a,b,c` → three values; a TOML array (`[1, 2]`) stays one value."""
    whole = parse_value(text)
    if isinstance(whole, list) or "," not in text:
        return [whole]
    return [parse_value(part.strip()) for part in text.split(",")]


def parse_grid(items: list[str]) -> list[list[Override]]:
    """Every combination of the `--set` values, in the order given (one list when no key has
    several values). Raises `ConfigError` on a malformed item or a key given twice."""
    keys: list[str] = []
    choices: list[list[Any]] = []
    for item in items:
        key, text = _split(item)
        if key in keys:
            raise ConfigError("--set", [f"{key}: given twice"])
        keys.append(key)
        choices.append(_values(text))
    return [list(zip(keys, combo, strict=True)) for combo in itertools.product(*choices)]


def apply_overrides(config: Config, overrides: list[Override]) -> Config:
    """`config` with dotted keys replaced; raises `ConfigError` naming each bad key."""
    if not overrides:
        return config
    data = config.model_dump()
    for key, value in overrides:
        parts = key.split(".")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if child is None and node is not data and part not in node:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError("--set", [f"{key}: {part} is not a section"])
            node = child
        node[parts[-1]] = value
    return parse_config(data, "--set")


def describe(overrides: list[Override]) -> str:
    return " ".join(f"{key}={value}" for key, value in overrides)
