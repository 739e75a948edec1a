"""`densitytui replay FILE...`: the app on recorded data, to watch a session again.

The same screen as `densitytui run` (`DensityApp`, given an engine factory) over the trading
engine on a `ReplayMarketData` played at x1..x100 of recorded time, with a paper account that
fills against the recorded book (`backtest.latency_ms` after each order). Keys: space pauses and
resumes, `.` plays the next second of recorded time while paused, `+` and `-` double and halve
the speed. The title shows the speed, the recorded time, and "paused" or "end of data".

Its store is a new SQLite file in a temporary directory unless `--db` names one: a replay's
paper account and positions must not mix with the trader's own. A recording without tickers
has no 24 h change: `--change-24h SYMBOL=PCT` gives it (and the command says so), otherwise
every trend stays FLAT and no signal appears. `--instrument` and `--instruments` give trading
rules as for `backtest`; the command prints where each symbol's rules come from (given, Bybit's
published, or inferred from the data).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densitytui.commands.instrument_options import add_instrument_options, given_instruments
from densitytui.commands.scan import absent_symbols, change_24h_arg
from densitytui.commands.settings import config_or_exit

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.model import Instrument
    from densitytui.venues.replay import ReplayPace

MIN_SPEED = 1.0
MAX_SPEED = 100.0
TITLE_REFRESH_S = 0.5
PAUSE_IS_NOT_A_STALL_S = 86_400.0


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "replay", parents=parents,
        help="watch recorded Bybit data in the app, x1 to x100, with pause and step keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings, merged on time")
    parser.add_argument(
        "--speed", type=float, default=10.0, metavar="X",
        help=f"times recorded time ({MIN_SPEED:g} to {MAX_SPEED:g}, default 10)",
    )
    parser.add_argument(
        "--change-24h", action="append", default=[], type=change_24h_arg, metavar="SYMBOL=PCT",
        help="the 24 h change of SYMBOL in %% (e.g. BTCUSDT=+8.1); repeatable",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="override a config key (one value each)",
    )
    add_instrument_options(parser)
    parser.set_defaults(func=run)


def _replay_config(config: Config, db: Path | None) -> Config:
    """Venue replay; a paused replay or its end is not an engine stall (the clock stands still
    on purpose), so the stall warning waits `PAUSE_IS_NOT_A_STALL_S`."""
    update: dict[str, Any] = {
        "app": config.app.model_copy(update={"venue": "replay"}),
        "ui": config.ui.model_copy(update={"engine_stall_s": PAUSE_IS_NOT_A_STALL_S}),
    }
    if db is not None:
        update["storage"] = config.storage.model_copy(update={"url": f"sqlite:///{db}"})
    return config.model_copy(update=update)


def run(args: argparse.Namespace) -> int:
    from densitytui.backtest.overrides import apply_overrides, parse_grid
    from densitytui.config import ConfigError

    config = config_or_exit(args)
    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        print(f"densitytui replay: --speed must be {MIN_SPEED:g} to {MAX_SPEED:g}",
              file=sys.stderr)
        return 2
    try:
        grid = parse_grid(args.overrides)
        if len(grid) != 1:
            raise ConfigError("--set", ["one value per key: a replay is not a sweep"])
        config = apply_overrides(config, grid[0])
        instruments = given_instruments(args)
    except ConfigError as exc:
        print(f"densitytui replay: bad {exc.source}: {'; '.join(exc.problems)}", file=sys.stderr)
        return 2
    for path in args.files:
        if not Path(path).is_file():
            print(f"densitytui replay: cannot read {path}: no such file", file=sys.stderr)
            return 2
    changes = dict(args.change_24h)
    problem, sources = replay_problem(args.files, config, changes, instruments)
    if problem:
        print(f"densitytui replay: {problem}", file=sys.stderr)
        return 2
    from densitytui.backtest.report import instrument_note

    print(instrument_note(sources))
    if changes:
        given = ", ".join(f"{s} {v:+g}%" for s, v in sorted(changes.items()))
        print(f"24 h change given explicitly (--change-24h), not from tickers: {given}")
    else:
        print("no 24 h change given (--change-24h): trends stay FLAT unless the recording "
              "holds tickers")
    if getattr(args, "db", None):
        return _watch(config, args, changes, instruments)
    with tempfile.TemporaryDirectory(prefix="densitytui-replay-") as folder:
        return _watch(
            _replay_config(config, Path(folder) / "replay.db"), args, changes, instruments,
        )


def replay_problem(
    files: list[str], config: Config, changes: dict[str, float],
    instruments: Sequence[Instrument] = (),
) -> tuple[str, dict[str, str]]:
    """Why `files` cannot be replayed as asked ("" when they can), found before the app
    starts: nothing in them (the screen would show an empty market dated 1970), or a
    `--change-24h` symbol they do not trade; and where each symbol's trading rules come from
    (given, known or inferred)."""
    from densitytui.venues.recording import RecordingError
    from densitytui.venues.replay import ReplayMarketData
    from densitytui.venues.trade_history import TradeHistoryError

    replay = ReplayMarketData(
        files, lambda symbol: None, instruments=instruments,
        discovery_ms=round(config.backtest.discovery_s * 1000),
    )
    try:
        replay.require_data()
        listed = [instrument.symbol for instrument in replay.listed()]
        sources = replay.instrument_sources()
    except (RecordingError, TradeHistoryError, OSError) as exc:
        return f"cannot read {exc}", {}
    return absent_symbols(
        changes, listed, f"the first {config.backtest.discovery_s:g} s of the recordings "
        "(backtest.discovery_s), where the traded symbols are found",
    ), sources


def _watch(
    config: Config, args: argparse.Namespace, changes: dict[str, float],
    instruments: Sequence[Instrument],
) -> int:
    from densitytui.logging import close_logging, configure_logging
    from densitytui.venues.replay import ReplayPace

    configure_logging(config)
    pace = ReplayPace(args.speed, min_speed=MIN_SPEED, max_speed=MAX_SPEED)
    try:
        replay_app(config, args.files, changes, pace, instruments).run()
    finally:
        close_logging()
    return 0


def replay_app(
    config: Config, files: list[str], changes: dict[str, float], pace: ReplayPace,
    instruments: Sequence[Instrument] = (),
) -> Any:
    """The app on a paced replay of `files` (built here so tests can drive it with a pilot)."""
    config = _replay_config(config, None)
    from textual.binding import Binding

    from densitytui.backtest.run import replay_engine
    from densitytui.engine.engine import TradingEngine
    from densitytui.storage import Store
    from densitytui.ui.app import DensityApp

    engines: list[TradingEngine] = []

    async def factory(store: Store) -> TradingEngine:
        engine = await replay_engine(
            config, files, changes, store, instruments=instruments, pace=pace,
        )
        engines.append(engine)
        return engine

    class ReplayApp(DensityApp):
        """`DensityApp` with the replay's keys and its speed and time in the title."""

        # Textual reads a relative CSS_PATH beside the class's own module: point at the app's.
        CSS_PATH = str(Path(inspect.getfile(DensityApp)).with_name(str(DensityApp.CSS_PATH)))
        BINDINGS = [  # noqa: RUF012 (Textual merges each class's list)
            Binding("space", "replay_pause", "Pause"),
            Binding("full_stop", "replay_step", "Step 1 s"),
            Binding("plus,equals_sign", "replay_faster", "Faster"),
            Binding("minus", "replay_slower", "Slower"),
        ]

        end_told = False

        def on_mount(self) -> None:
            # Textual calls DensityApp.on_mount too (handlers run along the class's MRO).
            self.set_interval(TITLE_REFRESH_S, self.show_pace)
            self.show_pace()

        def show_pace(self) -> None:
            from densitytui.backtest.report import stamp

            state = "end of data" if pace.ended else "paused" if pace.paused else "playing"
            if pace.ended and not self.end_told:
                self.end_told = True
                self.notify("Replay: end of data", timeout=10)
            now = engines[0].clock_ms() if engines else 0
            # The badge says REPLAY, the mode has its label and the clock the recorded time of
            # day: the date completes it (all of it fits 120 columns beside the account).
            day = stamp(now)[:10] if now else "-"
            self.sub_title = f"x{pace.speed:g} · {state} · {day}"

        def tell(self) -> None:
            self.show_pace()
            self.notify(self.sub_title, timeout=3)

        def action_replay_pause(self) -> None:
            pace.toggle_pause()
            self.tell()

        def action_replay_step(self) -> None:
            pace.step()
            self.tell()

        def action_replay_faster(self) -> None:
            pace.set_speed(pace.speed * 2)
            self.tell()

        def action_replay_slower(self) -> None:
            pace.set_speed(pace.speed / 2)
            self.tell()

    return ReplayApp(config, engine_factory=factory)

