"""`--instrument SYM=TICK,QTYSTEP,MINQTY` and `--instruments PATH` for the commands that replay
recordings (`backtest`, `replay`): the trading rules a recording does not hold.

Rules given either way come before Bybit's published ones the replay knows
(`venues/replay.py`, `KNOWN_INSTRUMENTS`); `--instrument` before the file. A symbol neither
given nor known has its rules inferred from the data, and the command says so.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from densitytui.config import ConfigError
from densitytui.market.decode import DecodeError, decode_instruments
from densitytui.model import Instrument


def add_instrument_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instruments", type=Path, default=None, metavar="PATH",
        help="a saved Bybit /v5/market/instruments-info answer (JSON) giving the symbols' "
        "trading rules",
    )
    parser.add_argument(
        "--instrument", action="append", default=[], type=instrument_arg,
        metavar="SYM=TICK,QTYSTEP,MINQTY",
        help="the trading rules of SYM (e.g. ETHUSDT=0.01,0.01,0.01; minimum notional 5 USDT); "
        "repeatable; rules neither given nor known are inferred from the data, and the output "
        "says so",
    )


def instrument_arg(text: str) -> Instrument:
    """`SYM=TICK,QTYSTEP,MINQTY` as an instrument (minimum notional 5 USDT, no largest order)."""
    symbol, _, rules = text.partition("=")
    parts = rules.split(",")
    try:
        tick, step, min_qty = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SYMBOL=TICK,QTYSTEP,MINQTY, e.g. BTCUSDT=0.1,0.001,0.001"
        ) from None
    if not symbol.isalnum() or not all(math.isfinite(v) and v > 0 for v in (tick, step, min_qty)):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a symbol, then tick, qty step and minimum qty, all positive numbers"
        )
    return Instrument(symbol.upper(), tick, step, min_qty, 5.0, math.inf)


def given_instruments(args: argparse.Namespace) -> list[Instrument]:
    """The `--instrument` rules, then the file's for the symbols they do not name. Raises
    `ConfigError` naming the file when it cannot be read or is not an instruments-info answer."""
    given: list[Instrument] = list(args.instrument)
    path: Path | None = args.instruments
    if path is None:
        return given
    try:
        saved = decode_instruments(path.read_bytes())[0]
    except OSError as exc:
        raise ConfigError(str(path), [exc.strerror or str(exc)]) from None
    except DecodeError as exc:
        raise ConfigError(str(path), [str(exc)]) from None
    named = {i.symbol for i in given}
    return [*given, *(i for i in saved if i.symbol not in named)]
