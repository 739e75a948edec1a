"""`densitytui scan FILE...`: a density screener over recorded Bybit messages.

The files are replayed, in the order given, through one market engine as fast as it goes; each
density lifecycle event is printed as it happens, in time order, then a summary. Outcomes follow
`densitytui.market.densities`; a density still there at the end counts as held when price
tested it, else as open.

Units and rounding. Prices are USDT, rounded to the tick: the one given with `--tick`, else the
tracker's guess from the book. Sizes are in the base coin (the symbol without its USDT suffix),
rounded to the most decimals of the book's own size strings (its best 50 levels a side when the
symbol's first event is printed); notional is USDT, the anchor price x the summed size. JSON
numbers are rounded the same way, so they carry no float noise.

A recording has no instrument rules: `--tick SYMBOL=TICK` gives a symbol's tick (the sim's
recordings: its ticks are in `densitytui.venues.sim.instruments`); nothing is taken from the sim
by symbol name, since a real recording of the same symbol may differ. A recording without
tickers has no 24 h change either: `--change-24h SYMBOL=PCT` gives it, and the output says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

import orjson

from densitytui.commands.settings import config_or_exit
from densitytui.market.decode import KIND_BOOK, KIND_TICKER, KIND_TRADE
from densitytui.market.engine import MarketEngine
from densitytui.model import Density, DensityEvent, DensityEventKind, DensityOutcome, Instrument
from densitytui.venues.recording import Recording, RecordingError

PROGRESS_MIN_BYTES = 1 << 20
PROGRESS_EVERY = 4096
OUTCOMES = [o.value for o in DensityOutcome] + ["open"]
MARKET_KINDS = (KIND_BOOK, KIND_TRADE, KIND_TICKER)
# Book levels a side read to learn how many decimals a symbol's sizes have.
SIZE_SAMPLE = 50

LEGEND = """\
outcomes (on gone events and in the summary):
  eaten         its walls were traded away: trades took at least as much as cancels
  held          price tested it and it outlived the test: it left the distance or depth
                window, or its walls were taken down while price was away; at the end of
                a replay, a density still there that was tested
  spoof         its walls went, and more than spoof_pulled_pct of what it lost was pulled
  pulled        its walls went, mostly pulled (cancelled) but below the spoof share
  out_of_range  it left the distance window (max_distance_pct of mid) or the book's depth
                window, untested
  faded         the auto threshold (auto_turnover_fraction) rose above it; it lost nothing
  open          still there at the end of the replay, never tested (summary only)
flags (on every event):
  confirmed     it has lived min_lifetime_s: only confirmed densities give signals
  tested        a trade printed within bounce_max_distance_pct of its levels
  spoof         more than spoof_pulled_pct of what it has lost so far was pulled
  frozen        its book was invalid (sequence gap, crossed) at the time
units: prices in USDT rounded to the tick; sizes (size, peak, eaten, pulled) in the base
coin rounded to the book's size decimals; notional in USDT. `price` is the density's anchor
level (its largest); a cluster also shows its range of levels.
time order: when a density's walls go, its outcome waits trade_match_s for trades printed
before the book showed the loss; the gone event is printed when the outcome is decided, with
that time, and says when the walls went ("decided later").
exit status: 0 done; 1 a file was empty, held no Bybit market message, or only malformed
lines; 2 a file or an option could not be read."""


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "scan", parents=parents,
        help="replay recorded Bybit messages and print density lifecycle events",
        description="Replay recorded Bybit v5 public messages (NDJSON, .gz, or Bybit history "
        ".zip files holding *_obNNN.data) through the market engine and print every density "
        "event, then a summary line. With --json each event is one JSON object per line "
        "(event, symbol, side, price, price_low, price_high, levels, size, notional, peak, "
        "erosion, eaten, pulled, spoof, confirmed, tested, frozen, ts, id; outcome on gone "
        "events, and gone_at when the outcome was decided later) and the summary is a JSON "
        "object with \"summary\": true.",
        epilog=LEGEND,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings, replayed in order")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--final-book", type=int, default=0, metavar="N",
        help='end with {"SYMBOL": {"bids": [[price, size], ...], "asks": [...]}}: the N best '
        "levels a side, strings exactly as received",
    )
    parser.add_argument(
        "--change-24h", action="append", default=[], type=change_24h_arg, metavar="SYMBOL=PCT",
        help="the 24 h change of SYMBOL in %% (e.g. BTCUSDT=+8.1), for recordings without "
        "tickers, so the trend can be judged; repeatable",
    )
    parser.add_argument(
        "--tick", action="append", default=[], type=_tick, metavar="SYMBOL=TICK",
        help="the tick size of SYMBOL (e.g. BTCUSDT=0.1) instead of guessing it from the book; "
        "repeatable",
    )
    parser.set_defaults(func=run)


def _pair(text: str) -> tuple[str, Decimal]:
    symbol, sep, value = text.partition("=")
    if not sep or not symbol.strip():
        raise argparse.ArgumentTypeError(f"expected SYMBOL=NUMBER, got {text!r}")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number (in {text!r})") from None
    if not number.is_finite():
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number (in {text!r})")
    return symbol.strip().upper(), number


# A 24 h change below -100 % is impossible; above +1,000 % is a typo (no perpetual lists so).
CHANGE_24H_RANGE = (-100.0, 1000.0)


def change_24h_arg(text: str) -> tuple[str, float]:
    """`SYMBOL=PCT`, the percent sign optional (`ETHUSDT=-5%`), within `CHANGE_24H_RANGE`."""
    symbol, number = _pair(text.rstrip().removesuffix("%"))
    low, high = CHANGE_24H_RANGE
    if not low < number <= high:
        raise argparse.ArgumentTypeError(
            f"a 24 h change is in % above {low:g} and at most {high:g}, not {number} "
            f"(in {text!r})"
        )
    return symbol, float(number)


def absent_symbols(changes: dict[str, float], found: Iterable[str], where: str) -> str:
    """Why `--change-24h` names a symbol the recordings do not hold ("" when all are there):
    a typo would otherwise leave the real symbol FLAT without a word."""
    known = set(found)
    absent = sorted(set(changes) - known)
    if not absent:
        return ""
    return (
        f"--change-24h names {', '.join(absent)}, not in {where} "
        f"(symbols there: {', '.join(sorted(known)) or 'none'})"
    )


def _tick(text: str) -> tuple[str, float]:
    symbol, number = _pair(text)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"a tick must be positive (in {text!r})")
    return symbol, float(number)


def run(args: argparse.Namespace) -> int:
    try:
        return _scan(args)
    except BrokenPipeError:
        # The reader went away (`scan ... | head`): stop quietly, as other filters do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _scan(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    if args.final_book < 0:
        print("densitytui scan: --final-book must be 0 or more", file=sys.stderr)
        return 2
    try:
        recordings = [Recording(path) for path in args.files]
    except RecordingError as exc:
        print(f"densitytui scan: cannot read {exc}", file=sys.stderr)
        return 2
    changes = dict(args.change_24h)
    engine = MarketEngine(config, change_24h=changes)
    for symbol, tick in args.tick:
        engine.set_instrument(Instrument(symbol, tick, 0.0, 0.0, 0.0, 0.0))
    out = sys.stdout
    units = _Units(engine)
    write = _json_line if args.json else _text_line
    if changes and not args.json:
        given = ", ".join(f"{symbol} {pct:+.2f} %" for symbol, pct in changes.items())
        out.write(f"24 h change given explicitly (--change-24h), not from tickers: {given}\n")
    progress = _Progress(recordings, sys.stderr)
    tally = _Tally()
    problems = []
    try:
        for recording in recordings:
            before = _Counts(engine)
            for count, frame in enumerate(recording):
                events = engine.on_frame(frame)
                if events:
                    _emit(events, engine, units, write, out, tally)
                if count % PROGRESS_EVERY == 0:
                    progress.show(recording)
            problem = before.problem(engine, recording)
            if problem:
                problems.append(problem)
    except RecordingError as exc:
        progress.clear()
        print(f"densitytui scan: cannot read {exc}", file=sys.stderr)
        return 2
    _emit(engine.finish(), engine, units, write, out, tally)
    progress.clear()
    for symbol in engine.symbols:
        tracker = engine.tracker(symbol)
        if tracker is not None:
            for density in tracker.densities():
                tally.end(density.tested_at is not None, density.confirmed)
    summary = _summary(engine, tally, changes)
    if args.json:
        out.write(orjson.dumps(summary).decode() + "\n")
    else:
        out.write(_summary_text(summary) + "\n")
    if args.final_book:
        books = {}
        for symbol in engine.symbols:
            book = engine.book(symbol)
            if book is not None:
                books[symbol] = book.raw_top(args.final_book)
        out.write(orjson.dumps(books).decode() + "\n")
    for problem in problems:
        print(f"densitytui scan: {problem}", file=sys.stderr)
    absent = absent_symbols(changes, engine.symbols, "the recordings")
    if absent:
        print(f"densitytui scan: {absent}", file=sys.stderr)
        return 2
    return 1 if problems else 0


class _Counts:
    """The engine's message counters before a file, to tell what that file held."""

    def __init__(self, engine: MarketEngine) -> None:
        stats = engine.stats
        self.total = stats.total_messages
        self.malformed = stats.total_malformed
        self.market = sum(stats.messages[kind] for kind in MARKET_KINDS)

    def problem(self, engine: MarketEngine, recording: Recording) -> str | None:
        """Why the file gave nothing to scan, or None."""
        stats = engine.stats
        lines = stats.total_messages - self.total
        malformed = stats.total_malformed - self.malformed
        market = sum(stats.messages[kind] for kind in MARKET_KINDS) - self.market
        if lines == 0:
            return f"{recording.path}: the file is empty (no messages)"
        if malformed == lines:
            return f"{recording.path}: all {lines:,} lines are malformed (no Bybit message read)"
        if market == 0:
            return (
                f"{recording.path}: no Bybit market messages (orderbook, publicTrade, tickers) "
                f"among {lines:,} lines"
            )
        return None


class _Units:
    """How to round one symbol's prices and sizes, learnt from its tick and its book."""

    def __init__(self, engine: MarketEngine) -> None:
        self.engine = engine
        self._known: dict[str, tuple[int, int]] = {}

    def decimals(self, symbol: str) -> tuple[int, int]:
        """(price decimals, size decimals)."""
        known = self._known.get(symbol)
        if known is not None:
            return known
        tracker = self.engine.tracker(symbol)
        tick = tracker.tick if tracker is not None else None
        price_places = _places(f"{tick:.10f}") if tick else 8
        size_places = 0
        book = self.engine.book(symbol)
        if book is not None:
            top = book.raw_top(SIZE_SAMPLE)
            for _, size in top["bids"] + top["asks"]:
                size_places = max(size_places, _places(size))
        places = (price_places, size_places)
        if tick:
            self._known[symbol] = places
        return places


def _places(number: str) -> int:
    """Decimals a number string needs (trailing zeros dropped): "0.10" → 1, "5" → 0."""
    _, _, fraction = number.partition(".")
    return len(fraction.rstrip("0"))


def base_coin(symbol: str) -> str:
    return symbol.removesuffix("USDT") or symbol


class _Tally:
    """Densities seen, and how they ended; the same again for the confirmed ones alone."""

    def __init__(self) -> None:
        self.appeared = 0
        self.confirmed = 0
        self.outcomes: Counter[str] = Counter()
        self.confirmed_outcomes: Counter[str] = Counter()

    def add(self, event: DensityEvent) -> None:
        if event.kind is DensityEventKind.APPEARED:
            self.appeared += 1
        elif event.kind is DensityEventKind.CONFIRMED:
            self.confirmed += 1
        elif event.kind is DensityEventKind.GONE and event.outcome is not None:
            self._count(event.outcome.value, event.density.confirmed)

    def end(self, tested: bool, confirmed: bool) -> None:
        """A density still there when the input ends."""
        self._count("held" if tested else "open", confirmed)

    def _count(self, outcome: str, confirmed: bool) -> None:
        self.outcomes[outcome] += 1
        if confirmed:
            self.confirmed_outcomes[outcome] += 1


def _emit(
    events: Sequence[DensityEvent], engine: MarketEngine, units: _Units, write: Any,
    out: TextIO, tally: _Tally,
) -> None:
    for event in events:
        tally.add(event)
        tracker = engine.tracker(event.density.symbol)
        spoof = tracker.is_spoof(event.density) if tracker is not None else False
        out.write(write(event, spoof, units.decimals(event.density.symbol)))


def _decided_later(event: DensityEvent) -> bool:
    return event.kind is DensityEventKind.GONE and event.ts > event.density.last_seen


def event_record(event: DensityEvent, spoof: bool, places: tuple[int, int]) -> dict[str, Any]:
    """The JSON form of one event (`scan --json`), rounded to tick and size decimals."""
    density = event.density
    price_places, size_places = places
    record: dict[str, Any] = {
        "event": event.kind.value,
        "symbol": density.symbol,
        "side": density.side.value,
        "price": round(density.price, price_places),
        "price_low": round(density.price_low, price_places),
        "price_high": round(density.price_high, price_places),
        "levels": density.levels,
        "size": round(density.size, size_places),
        "notional": round(density.price * density.size, 2),
        "peak": round(density.peak_size, size_places),
        "erosion": round(density.erosion, 4),
        "eaten": round(density.eaten, size_places),
        "pulled": round(density.pulled, size_places),
        "spoof": spoof,
        "ts": event.ts,
        "id": density.id,
        "confirmed": density.confirmed,
        "tested": density.tested_at is not None,
        "frozen": density.frozen,
    }
    if event.outcome is not None:
        record["outcome"] = event.outcome.value
    if _decided_later(event):
        record["gone_at"] = density.last_seen
    return record


def _json_line(event: DensityEvent, spoof: bool, places: tuple[int, int]) -> str:
    return orjson.dumps(event_record(event, spoof, places)).decode() + "\n"


def _flags(density: Density, spoof: bool) -> str:
    flags = [
        name
        for name, on in (
            ("confirmed", density.confirmed),
            ("tested", density.tested_at is not None),
            ("spoof", spoof),
            ("frozen", density.frozen),
        )
        if on
    ]
    return " ".join(flags) or "-"


def _text_line(event: DensityEvent, spoof: bool, places: tuple[int, int]) -> str:
    density = event.density
    price_places, size_places = places
    coin = base_coin(density.symbol)

    def price(value: float) -> str:
        return f"{value:.{price_places}f}"

    def size(value: float) -> str:
        return f"{value:.{size_places}f} {coin}"

    where = f"{price(density.price)} USDT"
    if density.levels > 1:
        low, high = price(density.price_low), price(density.price_high)
        where += f" ({low}-{high}, {density.levels} levels)"
    outcome = ""
    if event.outcome is not None:
        outcome = f"  -> {event.outcome.value}"
        if _decided_later(event):
            outcome += (
                f" (decided later: walls went at {_time(density.last_seen)}, "
                "after waiting for late trades)"
            )
    return (
        f"{_time(event.ts)}  {event.kind.value:<9} {density.symbol:<10} {density.side.value:<3} "
        f"{where}  size {size(density.size)}  "
        f"notional {density.price * density.size:,.0f} USDT  peak {size(density.peak_size)}  "
        f"erosion {density.erosion * 100:.1f}%  eaten {size(density.eaten)}  "
        f"pulled {size(density.pulled)}  [{_flags(density, spoof)}]{outcome}\n"
    )


def _time(ts: int) -> str:
    moment = datetime.fromtimestamp(ts / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts % 1000:03d}"


def _summary(engine: MarketEngine, tally: _Tally, changes: dict[str, float]) -> dict[str, Any]:
    stats = engine.stats
    trend = {}
    for symbol in engine.symbols:
        change = engine.change_24h(symbol)
        if symbol in changes:
            source = "explicit"
        elif change is not None:
            source = "ticker"
        else:
            source = "none"
        trend[symbol] = {
            "trend": engine.trend(symbol).value, "change_24h_pct": change, "source": source,
        }
    return {
        "summary": True,
        "messages": stats.total_messages,
        "by_kind": {kind: n for kind, n in stats.messages.items() if n},
        "malformed": stats.total_malformed,
        "malformed_by_kind": {kind: n for kind, n in stats.malformed.items() if n},
        "gaps": stats.gaps,
        "stale": stats.stale,
        "symbols": engine.symbols,
        "densities": tally.appeared,
        "outcomes": {name: tally.outcomes.get(name, 0) for name in OUTCOMES},
        "confirmed": tally.confirmed,
        "confirmed_outcomes": {name: tally.confirmed_outcomes.get(name, 0) for name in OUTCOMES},
        "trend": trend,
    }


def _summary_text(summary: dict[str, Any]) -> str:
    def listing(counts: dict[str, int]) -> str:
        return ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"

    def trend(symbol: str, state: dict[str, Any]) -> str:
        change = state["change_24h_pct"]
        if state["source"] == "none":
            why = "no 24 h change: no tickers, none given with --change-24h"
        else:
            given = "given explicitly" if state["source"] == "explicit" else "from tickers"
            why = f"24 h change {change:+.2f} % {given}"
        return f"{symbol} {state['trend']} ({why})"

    trends = "; ".join(trend(s, state) for s, state in summary["trend"].items())
    return (
        f"summary: {summary['messages']:,} messages ({summary['malformed']} malformed), "
        f"{summary['gaps']} gaps, {len(summary['symbols'])} symbol(s); "
        f"{summary['densities']:,} densities: {listing(summary['outcomes'])}; "
        f"{summary['confirmed']:,} confirmed: {listing(summary['confirmed_outcomes'])}"
        + (f"; trend at the end: {trends}" if trends else "")
    )


class _Progress:
    """A one-line progress bar on stderr, only for a terminal and a large input."""

    def __init__(self, recordings: Iterable[Recording], stream: TextIO) -> None:
        self.recordings = list(recordings)
        self.stream = stream
        self.total = sum(r.size for r in self.recordings)
        self.enabled = stream.isatty() and self.total >= PROGRESS_MIN_BYTES
        self.shown = False

    def show(self, current: Recording) -> None:
        if not self.enabled:
            return
        done = 0.0
        for recording in self.recordings:
            if recording is current:
                done += recording.size * recording.progress()
                break
            done += recording.size
        share = done / self.total
        filled = int(share * 30)
        self.stream.write(f"\rscan [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 45 + "\r")
            self.stream.flush()
            self.shown = False
