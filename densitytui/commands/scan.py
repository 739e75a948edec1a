"""`densitytui scan FILE...`: a density screener over recorded Bybit messages.

The files are replayed, in the order given, through one market engine as fast as it goes; each
density lifecycle event is printed as it happens, then a summary. Outcomes follow
`densitytui.market.densities`; a density still there at the end counts as held when price
tested it, else as open.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from densitytui.commands.settings import config_or_exit
from densitytui.market.engine import MarketEngine
from densitytui.model import DensityEvent, DensityEventKind, DensityOutcome
from densitytui.venues.recording import Recording, RecordingError

PROGRESS_MIN_BYTES = 1 << 20
PROGRESS_EVERY = 4096
OUTCOMES = [o.value for o in DensityOutcome] + ["open"]


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "scan", parents=parents,
        help="replay recorded Bybit messages and print density lifecycle events",
        description="Replay recorded Bybit v5 public messages (NDJSON, .gz, or Bybit history "
        ".zip files holding *_obNNN.data) through the market engine and print every density "
        "event, then a summary line. With --json each event is one JSON object per line "
        "(event, symbol, side, price, size, notional, peak, erosion, eaten, pulled, spoof, ts, "
        "and outcome on gone events) and the summary is a JSON object with \"summary\": true. "
        "Exit status 2 if a file cannot be read.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings, replayed in order")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--final-book", type=int, default=0, metavar="N",
        help='end with {"SYMBOL": {"bids": [[price, size], ...], "asks": [...]}}: the N best '
        "levels a side, strings exactly as received",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    if args.final_book < 0:
        print("densitytui scan: --final-book must be 0 or more", file=sys.stderr)
        return 2
    try:
        recordings = [Recording(path) for path in args.files]
    except RecordingError as exc:
        print(f"densitytui scan: cannot read {exc}", file=sys.stderr)
        return 2
    engine = MarketEngine(config)
    out = sys.stdout
    write = _json_line if args.json else _text_line
    progress = _Progress(recordings, sys.stderr)
    tally = _Tally()
    try:
        for recording in recordings:
            for count, frame in enumerate(recording):
                events = engine.on_frame(frame)
                if events:
                    _emit(events, engine, write, out, tally)
                if count % PROGRESS_EVERY == 0:
                    progress.show(recording)
    except RecordingError as exc:
        progress.clear()
        print(f"densitytui scan: cannot read {exc}", file=sys.stderr)
        return 2
    _emit(engine.finish(), engine, write, out, tally)
    progress.clear()
    for symbol in engine.symbols:
        tracker = engine.tracker(symbol)
        if tracker is not None:
            for density in tracker.densities():
                tally.end(density.tested_at is not None, density.confirmed)
    summary = _summary(engine, tally)
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
    return 0


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
    events: Sequence[DensityEvent], engine: MarketEngine, write: Any, out: TextIO, tally: _Tally,
) -> None:
    for event in events:
        tally.add(event)
        tracker = engine.tracker(event.density.symbol)
        spoof = tracker.is_spoof(event.density) if tracker is not None else False
        out.write(write(event, spoof))


def event_record(event: DensityEvent, spoof: bool) -> dict[str, Any]:
    """The JSON form of one event (`scan --json`)."""
    density = event.density
    record: dict[str, Any] = {
        "event": event.kind.value,
        "symbol": density.symbol,
        "side": density.side.value,
        "price": density.price,
        "size": density.size,
        "notional": density.notional,
        "peak": density.peak_size,
        "erosion": density.erosion,
        "eaten": density.eaten,
        "pulled": density.pulled,
        "spoof": spoof,
        "ts": event.ts,
        "id": density.id,
        "levels": density.levels,
        "confirmed": density.confirmed,
        "tested": density.tested_at is not None,
    }
    if event.outcome is not None:
        record["outcome"] = event.outcome.value
    return record


def _json_line(event: DensityEvent, spoof: bool) -> str:
    return orjson.dumps(event_record(event, spoof)).decode() + "\n"


def _text_line(event: DensityEvent, spoof: bool) -> str:
    density = event.density
    outcome = f"  -> {event.outcome.value}" if event.outcome is not None else ""
    return (
        f"{_time(event.ts)}  {event.kind.value:<9} {density.symbol:<10} {density.side.value:<3} "
        f"{density.price:>14.8g}  size {density.size:<12.6g} notional {density.notional:>13,.0f}"
        f"  peak {density.peak_size:<12.6g} erosion {density.erosion * 100:5.1f}%"
        f"  eaten {density.eaten:<10.6g} pulled {density.pulled:<10.6g}"
        f" spoof {'yes' if spoof else 'no '}{outcome}\n"
    )


def _time(ts: int) -> str:
    moment = datetime.fromtimestamp(ts / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts % 1000:03d}"


def _summary(engine: MarketEngine, tally: _Tally) -> dict[str, Any]:
    stats = engine.stats
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
    }


def _summary_text(summary: dict[str, Any]) -> str:
    def listing(counts: dict[str, int]) -> str:
        return ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"

    return (
        f"summary: {summary['messages']:,} messages ({summary['malformed']} malformed), "
        f"{summary['gaps']} gaps, {len(summary['symbols'])} symbol(s); "
        f"{summary['densities']:,} densities: {listing(summary['outcomes'])}; "
        f"{summary['confirmed']:,} confirmed: {listing(summary['confirmed_outcomes'])}"
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
