"""`config.toml`: where it is found, what it may hold, and how a bad one is reported.

Pydantic validates the file once at start; the hot path then reads plain attributes. Strategy
sections (`density`, `trend`, `tape`, `signals`, `exits`) can be overridden per symbol in a
`[symbols.XXX]` table; `Config.strategy(symbol)` returns the merged numbers. Secrets never come
from here: a key that looks like one is refused with a pointer to the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from densitytui.dsn import redact_dsn
from densitytui.model import TradingMode
from densitytui.paths import packaged_file, theme_names, user_config_dir

ENV_CONFIG = "DENSITYTUI_CONFIG"
STRATEGY_SECTIONS = ("density", "trend", "tape", "signals", "exits")
# A Bybit USDT linear perpetual as the exchange spells it (BTCUSDT, 1000PEPEUSDT).
SYMBOL_NAME = re.compile(r"[A-Z0-9]{1,24}USDT")
SECRET_WORDS = ("secret", "api_key", "apikey", "password", "token")

Pct = Annotated[float, Field(ge=0, le=100)]
PositivePct = Annotated[float, Field(gt=0, le=100)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Venue = Literal["sim", "replay", "paper", "demo", "testnet", "live"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Section(BaseModel):
    # inf and nan are TOML numbers, but no setting means them (and the engine cannot round them)
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False,
    )


class AppSection(Section):
    venue: Venue = "sim"
    mode: TradingMode = TradingMode.SEMI
    seed: int = 1
    theme: str = "dark"

    @field_validator("theme")
    @classmethod
    def _theme_exists(cls, theme: str) -> str:
        names = theme_names()
        if theme not in names:
            raise ValueError(f"allowed values: {', '.join(names)}")
        return theme


class LoggingSection(Section):
    file: str = ""
    level: LogLevel = "INFO"
    max_file_mb: Annotated[float, Field(gt=0, le=10_000)] = 10.0
    keep_files: Annotated[int, Field(ge=0, le=100)] = 5


class StorageSection(Section):
    url: str = ""
    retention_days: Annotated[int, Field(ge=1)] = 30

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(
                "allowed: empty (SQLite in the user data dir), sqlite:///PATH or postgresql://DSN"
            )
        return url


class DensitySection(Section):
    min_notional_usdt: Positive = 50_000.0
    auto_turnover_fraction: NonNegative = 0.0
    relative_factor: Positive = 3.0
    relative_neighbors: Annotated[int, Field(ge=1, le=50)] = 5
    side_share_pct: Pct = 5.0
    max_distance_pct: PositivePct = 2.0
    min_lifetime_s: NonNegative = 10.0
    keep_fraction: Annotated[float, Field(gt=0, le=1)] = 0.75
    cluster_range_pct: Pct = 0.15
    spoof_pulled_pct: Pct = 60.0
    trade_match_s: NonNegative = 1.0
    change_report_pct: PositivePct = 10.0


class TrendSection(Section):
    min_change_24h_pct: NonNegative = 2.0
    pressure_ratio: Positive = 1.2
    pressure_range_pct: PositivePct = 1.0


class TapeSection(Section):
    velocity_short_s: Positive = 3.0
    velocity_long_s: Positive = 15.0
    aggression_window_s: Positive = 10.0
    spike_baseline_s: Positive = 60.0
    spike_factor: Positive = 3.0
    range_hours: tuple[float, ...] = (1.0, 4.0)

    @model_validator(mode="after")
    def _windows_ordered(self) -> TapeSection:
        if self.velocity_short_s >= self.velocity_long_s:
            raise ValueError(
                f"velocity_short_s ({self.velocity_short_s}) must be shorter than "
                f"velocity_long_s ({self.velocity_long_s})"
            )
        if not self.range_hours or any(h <= 0 for h in self.range_hours):
            raise ValueError("range_hours must list positive hours, e.g. [1, 4]")
        return self


class SignalsSection(Section):
    ttl_s: Positive = 60.0
    breakout_min_erosion_pct: Pct = 30.0
    breakout_stop_pct: PositivePct = 0.1
    min_stop_pct: PositivePct = 0.05
    bounce_max_distance_pct: PositivePct = 0.2
    bounce_max_erosion_pct: Pct = 10.0
    bounce_max_eaten_pct: Pct = 10.0
    bounce_stop_pct: PositivePct = 0.3
    min_reward_risk: NonNegative = 2.0
    breakout_through: Literal["far_edge", "remaining"] = "far_edge"
    breakout_max_remaining_pct: Pct = 10.0


class ExitsSection(Section):
    breakeven_trigger_pct: NonNegative = 0.5
    bounce_exit_erosion_pct: Pct = 65.0
    velocity_ratio: Positive = 0.5
    counter_aggression_ratio: Positive = 2.0
    opposing_density_pct: PositivePct = 0.2
    take_profit_pct: NonNegative = 0.0
    min_net_profit_pct: NonNegative = 0.05


class RiskSection(Section):
    max_positions: Annotated[int, Field(ge=1)] = 10
    position_notional_usdt: Positive = 10.0
    risk_per_trade_pct: Pct = 0.0
    leverage: Annotated[float, Field(ge=1, le=100)] = 10.0
    max_position_exposure_pct: PositivePct = 5.0
    max_total_exposure_pct: PositivePct = 50.0
    min_balance_usdt: NonNegative = 10.0
    daily_loss_limit_pct: PositivePct = 5.0
    stop_streak_count: Annotated[int, Field(ge=1)] = 3
    stop_streak_window_min: Positive = 30.0
    stop_streak_pause_min: NonNegative = 30.0
    max_drawdown_pct: PositivePct = 10.0
    max_entry_deviation_pct: PositivePct = 1.0
    stale_data_s: Positive = 30.0
    reentry_cooldown_s: NonNegative = 60.0


class EngineSection(Section):
    order_timeout_s: Positive = 10.0
    order_lookup_attempts: Annotated[int, Field(ge=1)] = 10
    order_lookup_interval_s: Positive = 0.5
    reconcile_s: Positive = 30.0
    close_all_attempts: Annotated[int, Field(ge=1)] = 5
    eval_interval_ms: Annotated[int, Field(ge=0)] = 20
    exit_check_ms: Annotated[int, Field(ge=0)] = 100
    protect_stop_pct: PositivePct = 0.3
    link_id_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{0,24}$")] = ""


class MoversSection(Section):
    refresh_s: Positive = 300.0
    min_turnover_usdt: NonNegative = 1_000_000.0
    top_gainers: Annotated[int, Field(ge=0)] = 20
    top_losers: Annotated[int, Field(ge=0)] = 20


class PaperSection(Section):
    starting_balance_usdt: Positive = 1_000.0
    taker_fee_pct: Pct = 0.055
    funding_rate_pct: Annotated[float, Field(ge=-5, le=5)] = 0.01
    remembered_orders: Annotated[int, Field(ge=1)] = 1_000


class SimSection(Section):
    speed: NonNegative = 1.0
    symbols: tuple[str, ...] = ()


class BacktestSection(Section):
    feed_latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 20
    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 50
    answer_latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 20
    discovery_s: Positive = 60.0
    workers: Annotated[int, Field(ge=0, le=64)] = 0


class BybitSection(Section):
    mainnet_rest: str = "https://api.bybit.com"
    mainnet_public_ws: str = "wss://stream.bybit.com/v5/public/linear"
    mainnet_private_ws: str = "wss://stream.bybit.com/v5/private"
    testnet_rest: str = "https://api-testnet.bybit.com"
    testnet_public_ws: str = "wss://stream-testnet.bybit.com/v5/public/linear"
    testnet_private_ws: str = "wss://stream-testnet.bybit.com/v5/private"
    demo_rest: str = "https://api-demo.bybit.com"
    demo_private_ws: str = "wss://stream-demo.bybit.com/v5/private"
    recv_window_ms: Annotated[int, Field(ge=1000, le=60_000)] = 5000
    ping_interval_s: Positive = 20.0
    orderbook_depth: Literal[1, 50, 200, 1000] = 50
    subscribe_batch: Annotated[int, Field(ge=1, le=100)] = 10
    reconnect_min_s: Positive = 0.5
    reconnect_max_s: Positive = 30.0
    rest_timeout_s: Positive = 10.0
    rest_threads: Annotated[int, Field(ge=1, le=32)] = 4
    rate_limit_max_wait_s: Positive = 10.0


class UiSection(Section):
    ladder_interval_ms: Annotated[int, Field(ge=50, le=100)] = 100
    snapshot_refresh_hz: Annotated[float, Field(ge=1, le=10)] = 2.0
    engine_stall_s: Positive = 3.0
    max_mini_ladders: Annotated[int, Field(ge=0, le=12)] = 6
    user_themes: bool = True


class AlertsSection(Section):
    """Which engine events alert the trader, and how (bell, desktop, Telegram)."""

    bell: bool = True
    desktop: bool = True
    telegram: bool = False
    telegram_api: str = "https://api.telegram.org"
    telegram_chat_id: str = ""
    telegram_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    on_signal: bool = True
    on_fill: bool = True
    on_stop: bool = True
    on_kill_switch: bool = True

    @field_validator("telegram_api")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("an http(s):// URL, e.g. https://api.telegram.org")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _chat_given(self) -> AlertsSection:
        if self.telegram and not self.telegram_chat_id:
            raise ValueError("telegram = true needs telegram_chat_id (the chat the bot writes to)")
        return self


# Keys a terminal in tmux over SSH cannot deliver reliably (ENVIRONMENT.md).
UNUSABLE_KEYS = {"ctrl+b": "the tmux prefix", "ctrl+enter": "never arrives through tmux",
                 "escape": "delayed by tmux's escape-time; bind it with another key"}
MODIFIERS = ("ctrl", "shift", "alt", "meta")
# Named keys as Textual spells them; f13-f24 are left out: no trader's keyboard has them (some
# terminals send them for shift+f1..f12), so a binding to one never fires.
NAMED_KEYS = frozenset(
    ("backspace", "delete", "down", "end", "enter", "escape", "home", "insert", "left",
     "pagedown", "pageup", "right", "space", "tab", "up", *(f"f{n}" for n in range(1, 13)))
)
# How Textual names a printable character (`?` is question_mark): its Unicode name in lower
# case with underscores, and these six shortened.
_CHARACTER_NAME_REPLACEMENTS = {
    "solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
    "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore",
}


def _character_key_names() -> frozenset[str]:
    names = set()
    for code in range(0x21, 0x7F):
        name = unicodedata.name(chr(code)).lower().replace(" ", "_").replace("-", "_")
        names.add(_CHARACTER_NAME_REPLACEMENTS.get(name, name))
    return frozenset(names)


CHARACTER_KEYS = _character_key_names()


def key_problem(key: str) -> str:
    """Why one key name (`ctrl+x`, `f9`, `y`, `question_mark`) can never fire ("" if it can)."""
    *modifiers, base = key.split("+")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        return f"{key}: unknown modifier {unknown[0]!r} (allowed: {', '.join(MODIFIERS)})"
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return ""
    if base in NAMED_KEYS or base in CHARACTER_KEYS:
        return ""
    if base[:1] == "f" and base[1:].isdigit():
        return f"{key}: no such key on a keyboard (function keys are f1 to f12)"
    return f"{key}: unknown key name (a character such as y, a name such as enter, f1-f12, " \
        "question_mark, with ctrl+/shift+/alt+ before it)"


# Bindings by where they are live. Two ids of one group must not share a key: one of them would
# never fire, or fire where the trader meant the other (quit = "y" beside confirm_signal = "y").
# `open_symbol` lives in the movers pane, where it stands in for confirm/reject/close (which only
# say "not here" outside their own panes), so it may share their keys.
_APP_KEYS = ("close_all", "command_palette")
_MAIN_KEYS = (
    *_APP_KEYS, "quit", "help", "cycle_mode", "pause_entries", "next_pane", "previous_pane",
    "toggle_log", "cursor_down", "cursor_up",
)
KEY_GROUPS: dict[str, tuple[str, ...]] = {
    "the main screen": (*_MAIN_KEYS, "confirm_signal", "reject_signal", "close_position"),
    "the movers pane": (*_MAIN_KEYS, "open_symbol"),
    "the densities pane": (*_MAIN_KEYS, "open_symbol", "sort_densities"),
    "a yes/no question": (*_APP_KEYS, "answer_yes", "answer_no"),
}


class KeysSection(Section):
    """Key bindings by id: each value is Textual key names separated by commas."""

    quit: str = "q"
    help: str = "question_mark,f1"
    close_all: str = "f9,ctrl+x"
    confirm_signal: str = "y,enter"
    reject_signal: str = "n"
    cycle_mode: str = "a"
    pause_entries: str = "p"
    close_position: str = "c"
    open_symbol: str = "enter"
    sort_densities: str = "s"
    command_palette: str = "ctrl+p"
    next_pane: str = "tab"
    previous_pane: str = "shift+tab"
    cursor_down: str = "down,j"
    cursor_up: str = "up,k"
    toggle_log: str = "l"
    answer_yes: str = "y"
    answer_no: str = "n"

    @field_validator("*")
    @classmethod
    def _usable(cls, keys: str) -> str:
        names = [name.strip() for name in keys.split(",")]
        if not all(names):
            raise ValueError("list key names separated by commas, e.g. \"f9,ctrl+x\"")
        bad = [name for name in names if name in UNUSABLE_KEYS]
        if names == ["escape"] or any(name != "escape" for name in bad):
            raise ValueError(
                "unusable key: " + ", ".join(f"{name} ({UNUSABLE_KEYS[name]})" for name in bad)
            )
        unknown = [problem for problem in map(key_problem, names) if problem]
        if unknown:
            raise ValueError("; ".join(unknown))
        return ",".join(names)

    @model_validator(mode="after")
    def _no_collisions(self) -> KeysSection:
        problems: dict[tuple[str, str, str], str] = {}
        for where, ids in KEY_GROUPS.items():
            owner: dict[str, str] = {}
            for binding_id in ids:
                for key in getattr(self, binding_id).split(","):
                    other = owner.setdefault(_key_identity(key), binding_id)
                    if other != binding_id:
                        problems.setdefault(
                            (key, other, binding_id),
                            f"{key!r} is both {other} and {binding_id} on {where}",
                        )
        if problems:
            raise ValueError("; ".join(problems.values()))
        return self


def _key_identity(key: str) -> str:
    """One spelling per key: `?` and `question_mark` are the same key."""
    *modifiers, base = key.split("+")
    if len(base) == 1 and base.isprintable():
        name = unicodedata.name(base).lower().replace(" ", "_").replace("-", "_")
        base = _CHARACTER_NAME_REPLACEMENTS.get(name, name) if not base.isalnum() else base
    return "+".join([*sorted(modifiers), base])


class SymbolOverride(Section):
    """One `[symbols.XXX]` table: `enabled`, then partial strategy sections."""

    enabled: bool = True
    density: dict[str, Any] = Field(default_factory=dict)
    trend: dict[str, Any] = Field(default_factory=dict)
    tape: dict[str, Any] = Field(default_factory=dict)
    signals: dict[str, Any] = Field(default_factory=dict)
    exits: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """The strategy numbers in force for one symbol."""

    density: DensitySection
    trend: TrendSection
    tape: TapeSection
    signals: SignalsSection
    exits: ExitsSection
    enabled: bool = True


class Config(Section):
    app: AppSection = AppSection()
    logging: LoggingSection = LoggingSection()
    storage: StorageSection = StorageSection()
    density: DensitySection = DensitySection()
    trend: TrendSection = TrendSection()
    tape: TapeSection = TapeSection()
    signals: SignalsSection = SignalsSection()
    exits: ExitsSection = ExitsSection()
    risk: RiskSection = RiskSection()
    engine: EngineSection = EngineSection()
    movers: MoversSection = MoversSection()
    paper: PaperSection = PaperSection()
    sim: SimSection = SimSection()
    backtest: BacktestSection = BacktestSection()
    bybit: BybitSection = BybitSection()
    ui: UiSection = UiSection()
    alerts: AlertsSection = AlertsSection()
    keys: KeysSection = KeysSection()
    symbols: dict[str, SymbolOverride] = Field(default_factory=dict)

    @field_validator("symbols")
    @classmethod
    def _symbol_names(cls, symbols: dict[str, SymbolOverride]) -> dict[str, SymbolOverride]:
        bad = [name for name in symbols if not SYMBOL_NAME.fullmatch(name)]
        if bad:
            hints = [
                f"[symbols.{name}]" + (f" (write [symbols.{name.upper()}])"
                                        if SYMBOL_NAME.fullmatch(name.upper()) else "")
                for name in bad
            ]
            raise ValueError(
                "a symbol table is named as Bybit spells a USDT perpetual, upper case, e.g. "
                "[symbols.BTCUSDT]; this one would never match: " + ", ".join(hints)
            )
        return symbols

    def _merge(self, symbol: str) -> StrategyConfig:
        merged, problems = self._merge_sections(symbol)
        if problems:
            raise ConfigError(f"[symbols.{symbol}]", problems)
        return StrategyConfig(enabled=self.symbols[symbol].enabled, **merged)  # type: ignore[arg-type]

    def _merge_sections(self, symbol: str) -> tuple[dict[str, Section], list[str]]:
        """Each strategy section of `symbol` with its overrides, and every bad key among them
        (all of them, from every section, not just the first)."""
        override = self.symbols[symbol]
        merged: dict[str, Section] = {}
        problems: list[str] = []
        for name in STRATEGY_SECTIONS:
            base: Section = getattr(self, name)
            changes: dict[str, Any] = getattr(override, name)
            if not changes:
                merged[name] = base
                continue
            try:
                merged[name] = type(base).model_validate({**base.model_dump(), **changes})
            except ValidationError as exc:
                prefix = ("symbols", symbol, name)
                problems.extend(
                    _describe({**error, "loc": (*prefix, *error["loc"])}) for error in exc.errors()
                )
        return merged, problems

    def override_problems(self) -> list[str]:
        """Every bad key in the `[symbols.XXX]` tables, named in full."""
        problems: list[str] = []
        for symbol in self.symbols:
            problems.extend(self._merge_sections(symbol)[1])
        return problems

    @cached_property
    def _strategies(self) -> dict[str, StrategyConfig]:
        return {symbol: self._merge(symbol) for symbol in self.symbols}

    @cached_property
    def default_strategy(self) -> StrategyConfig:
        return StrategyConfig(self.density, self.trend, self.tape, self.signals, self.exits)

    def strategy(self, symbol: str) -> StrategyConfig:
        """Strategy numbers for `symbol`: its `[symbols.XXX]` overrides over the defaults."""
        return self._strategies.get(symbol, self.default_strategy)


class ConfigError(Exception):
    """A config file that cannot be used; `problems` holds one line per bad key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The first of: --config, $DENSITYTUI_CONFIG, ./config.toml, user config dir, package."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_CONFIG)
    if from_env:
        return Path(from_env)
    for candidate in (Path.cwd() / "config.toml", user_config_dir() / "config.toml"):
        if candidate.is_file():
            return candidate
    return packaged_file("config.toml")


def load_config(path: str | os.PathLike[str] | None = None) -> tuple[Config, Path]:
    """Read and validate the config that `find_config` picks; raise `ConfigError` on any problem."""
    source = find_config(path)
    return parse_config(read_toml(source), str(source)), source


def read_toml(source: Path) -> dict[str, Any]:
    """The file's TOML tables; `ConfigError` with one line for a file that cannot be read as
    TOML (missing, a directory, unreadable, not UTF-8, not TOML)."""
    try:
        return tomllib.loads(source.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    except tomllib.TOMLDecodeError as exc:
        problem = f"not valid TOML: {exc}"
    except FileNotFoundError:
        problem = "file not found"
    except IsADirectoryError:
        problem = "is a directory, not a file"
    except PermissionError:
        problem = "not readable (permission denied)"
    except OSError as exc:
        problem = f"cannot be read: {exc.strerror or exc}"
    except ValueError as exc:  # a path with a NUL byte in it
        problem = f"cannot be read: {exc}"
    raise ConfigError(str(source), [problem])


def parse_config(raw: Mapping[str, Any], source: str = "<config>") -> Config:
    secrets = _secret_keys(raw)
    if secrets:
        raise ConfigError(
            source,
            [
                f"{key}: secrets are never read from config.toml; set BYBIT_API_KEY and "
                "BYBIT_API_SECRET in the environment (or DENSITYTUI_SECRETS_FILE, mode 0600)"
                for key in secrets
            ],
        )
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(error) for error in exc.errors()]) from None
    problems = config.override_problems()
    if problems:
        raise ConfigError(source, problems)
    return config


def _secret_keys(raw: Mapping[str, Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.extend(_secret_keys(value, dotted + "."))
        elif any(word in key.lower() for word in SECRET_WORDS):
            found.append(dotted)
    return found


def _describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: `key = value: what is allowed`."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key; allowed here: {', '.join(_allowed_keys(loc[:-1]))}"
    if kind == "missing":
        return f"{key}: required"
    value = _shown(error.get("input"))
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(value, Mapping):
        return f"{key}: {message}"
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        message = f"allowed values: {expected}"
    return f"{key} = {value!r}: {message}"


def _shown(value: Any) -> Any:
    """A rejected value as it may be printed: a URL (`storage.url`) without its password."""
    return redact_dsn(value) if isinstance(value, str) else value


def _allowed_keys(loc: list[str]) -> list[str]:
    if loc[:1] == ["symbols"]:
        if len(loc) == 2:
            return sorted(SymbolOverride.model_fields)
        loc = loc[2:]
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return sorted(model.model_fields)
