"""What a backtest's trades add up to: statistics, the terminal text, JSON, CSV and HTML.

Definitions (all from closed trades; PnL is after fees, in USDT):
- win rate: trades with PnL > 0 over all trades; profit factor: gross profit / gross loss
  (None without a losing trade); average win and loss over winners and losers.
- equity: the starting balance plus the PnL of the trades closed so far, stepping at each exit;
  max drawdown: the largest fall of that equity from its running peak, in USDT and in % of peak.
  The summary of the whole run ("all") takes it on equity marked to market instead (open
  positions at their mark, sampled through the run: `run.py`), so a loss still open counts; the
  groups by kind and symbol have closed trades only.
- MAE / MFE: maximum adverse / favourable excursion of a trade, in % of its entry price: how
  far the prices the position saw (its fills, and the recorded prints from its fill's arrival
  to its close) went against it and for it; per trade, their means and the worst MAE and best
  MFE of a group.
- expectancy: mean PnL per trade; fee drag: fees in % of the entry notional (per trade, and
  the whole run's fees over the notional it entered); hold: seconds from entry to exit.
- funding: what open positions paid (positive) or earned at 00:00, 08:00 and 16:00 UTC at
  the rate the recording's tickers carried (fundingRate), else the configured one; trade PnL
  leaves it out, `net_pnl_after_funding` takes it in.
- not flat: positions the run could not close by the end; they are listed marked to market
  (unrealized PnL before the exit fee) and make the run an error (`not_flat` in JSON).
- Sharpe: mean trade PnL / sample standard deviation of trade PnL (per trade, not annualised;
  None below two trades or with no spread).
- exposure: the share of the replayed time during which at least one position was open.
Every number is rounded for output only; the same result always renders to the same bytes.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from densitytui.backtest.run import BacktestResult, OpenRow, TradeRow

CHART_WIDTH = 60
CHART_HEIGHT = 8
SVG_WIDTH = 900
SVG_HEIGHT = 240
MONEY = 6
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
BLOCKS = " ▁▂▃▄▅▆▇█"


def _round(value: float | None, places: int = MONEY) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, places) + 0.0


def stamp(ms: int) -> str:
    """`2024-08-08T23:54:16.509Z`."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def equity_curve(result: BacktestResult) -> list[tuple[int, float]]:
    """(time, equity) at the start and after each exit, in exit order."""
    equity = result.starting_balance
    points = [(result.start_ms, equity)]
    for trade in sorted(result.trades, key=lambda t: (t.exit_time, t.entry_time)):
        equity += trade.pnl
        points.append((trade.exit_time, equity))
    return points


def drawdowns(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(time, equity - running peak) for each point of the curve (0 or negative)."""
    peak = -math.inf
    out = []
    for ts, equity in points:
        peak = max(peak, equity)
        out.append((ts, equity - peak))
    return out


def _exposure_ms(trades: Iterable[TradeRow]) -> int:
    spans = sorted((t.entry_time, max(t.entry_time, t.exit_time)) for t in trades)
    total = 0
    end = -1
    for start, stop in spans:
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def marked_drawdown(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(largest fall from the running peak in USDT, that fall in % of the peak)."""
    peak = -math.inf
    worst, worst_pct = 0.0, 0.0
    for _, equity in points:
        peak = max(peak, equity)
        if peak - equity > worst:
            worst = peak - equity
            worst_pct = worst / peak * 100 if peak > 0 else 0.0
    return worst, worst_pct


def summarize(trades: list[TradeRow], starting_balance: float, span_ms: int) -> dict[str, Any]:
    """The statistics of the module doc for one group of trades."""
    pnls = [t.pnl for t in trades]
    entered = sum(t.qty * t.entry_price for t in trades)
    fees_total = sum(t.fees for t in trades)
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    gross_profit = sum(wins)
    gross_loss = -sum(losses)
    equity = starting_balance
    peak = equity
    max_dd = 0.0
    max_dd_pct = 0.0
    for trade in sorted(trades, key=lambda t: (t.exit_time, t.entry_time)):
        equity += trade.pnl
        peak = max(peak, equity)
        if peak - equity > max_dd:
            max_dd = peak - equity
            max_dd_pct = max_dd / peak * 100 if peak > 0 else 0.0
    n = len(pnls)
    maes = [t.mae_pct for t in trades if t.mae_pct is not None]
    mfes = [t.mfe_pct for t in trades if t.mfe_pct is not None]
    sharpe = None
    if n >= 2:
        mean = sum(pnls) / n
        spread = math.sqrt(sum((p - mean) ** 2 for p in pnls) / (n - 1))
        sharpe = mean / spread if spread > 0 else None
    return {
        "trades": n,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate_pct": _round(len(wins) / n * 100, 2) if n else None,
        "net_pnl": _round(sum(pnls)),
        "fees": _round(sum(t.fees for t in trades)),
        "gross_profit": _round(gross_profit),
        "gross_loss": _round(gross_loss),
        "profit_factor": _round(gross_profit / gross_loss, 4) if gross_loss > 0 else None,
        "avg_win": _round(gross_profit / len(wins)) if wins else None,
        "avg_loss": _round(-gross_loss / len(losses)) if losses else None,
        "max_drawdown": _round(max_dd),
        "max_drawdown_pct": _round(max_dd_pct, 4),
        "sharpe_per_trade": _round(sharpe, 4),
        "exposure_pct": _round(_exposure_ms(trades) / span_ms * 100, 2) if span_ms > 0 else None,
        "expectancy": _round(sum(pnls) / n) if n else None,
        "fee_drag_pct": _round(fees_total / entered * 100, 4) if entered > 0 else None,
        "avg_hold_s": _round(sum(t.exit_time - t.entry_time for t in trades) / n / 1000, 3)
        if n else None,
        "avg_mae_pct": _round(sum(maes) / len(maes), 4) if maes else None,
        "avg_mfe_pct": _round(sum(mfes) / len(mfes), 4) if mfes else None,
        "max_mae_pct": _round(max(maes), 4) if maes else None,
        "max_mfe_pct": _round(max(mfes), 4) if mfes else None,
    }


def _groups(trades: list[TradeRow], key: str) -> dict[str, list[TradeRow]]:
    groups: dict[str, list[TradeRow]] = {}
    for trade in trades:
        groups.setdefault(getattr(trade, key), []).append(trade)
    return dict(sorted(groups.items()))


def fill_model(result: BacktestResult) -> str:
    ahead = result.feed_latency_ms + result.latency_ms
    return (
        f"the engine sees recorded data {result.feed_latency_ms} ms late (feed latency); its "
        f"taker market orders reach the exchange {result.latency_ms} ms after it sends them and "
        f"walk the recorded book as it stood {ahead} ms of recorded time after the data the "
        "engine acted on, level by level, never taking more than a "
        "level shows; what paper fills took stays taken until the recording changes that level; "
        f"the engine learns a fill {result.answer_latency_ms} ms after it (answer latency) and "
        "judges no exit before; a stop, and every change to it, takes effect as the order "
        f"does ({ahead} ms of recorded time after the data the engine acted on), triggers on "
        "a recorded trade through it "
        "and fills on the exchange's book rebuilt from the recording as of that trade "
        "(apart from the engine's own, whatever state that is in), never at the stop price; "
        "a stop whose side of that book is empty fills at that trade's price "
        f"({_count(len(result.stops_at_print), 'stop')} did); "
        f"taker fee {result.taker_fee_pct:g} % on every fill; positions still open at the end "
        "are closed at market (exit reason close_all); one that cannot be closed is listed "
        "as open, marked to market, and the run is NOT FLAT"
    )


def _count(n: int, what: str) -> str:
    return f"{'no' if n == 0 else n} {what}{'' if n == 1 else 's'}"


def trade_dict(trade: TradeRow) -> dict[str, Any]:
    notional = trade.qty * trade.entry_price
    return {
        "symbol": trade.symbol, "kind": trade.kind, "side": trade.side, "qty": trade.qty,
        "entry_time": stamp(trade.entry_time), "entry_price": _round(trade.entry_price, 10),
        "exit_time": stamp(trade.exit_time), "exit_price": _round(trade.exit_price, 10),
        "exit_reason": trade.exit_reason, "pnl": _round(trade.pnl), "fees": _round(trade.fees),
        "hold_s": _round((trade.exit_time - trade.entry_time) / 1000, 3),
        "pnl_pct": _round(trade.pnl / notional * 100, 4) if notional > 0 else None,
        "fee_drag_pct": _round(trade.fees / notional * 100, 4) if notional > 0 else None,
        "mae_pct": _round(trade.mae_pct, 4),
        "mfe_pct": _round(trade.mfe_pct, 4),
        "signal_price": _round(trade.signal_price, 10),
        "signal_stop": _round(trade.signal_stop, 10),
        "density_price": _round(trade.density_price, 10),
    }


def open_dict(row: OpenRow) -> dict[str, Any]:
    return {
        "symbol": row.symbol, "side": row.side, "qty": row.qty,
        "entry_time": stamp(row.entry_time), "entry_price": _round(row.entry_price, 10),
        "mark_price": _round(row.mark_price, 10), "unrealized_pnl": _round(row.unrealized_pnl),
        "fees": _round(row.fees), "stop_loss": row.stop_loss,
    }


def _summary_all(result: BacktestResult, span: int) -> dict[str, Any]:
    """The whole run's statistics with the drawdown on marked equity (module doc)."""
    stats = summarize(result.trades, result.starting_balance, span)
    points = sorted(equity_curve(result) + result.marked_equity)
    worst, worst_pct = marked_drawdown(points)
    stats["max_drawdown"] = _round(max(worst, stats["max_drawdown"] or 0.0))
    stats["max_drawdown_pct"] = _round(max(worst_pct, stats["max_drawdown_pct"] or 0.0), 4)
    paid = sum(payment.amount for payment in result.funding)
    stats["funding"] = _round(paid)
    stats["net_pnl_after_funding"] = _round(sum(t.pnl for t in result.trades) - paid)
    stats["open_positions"] = len(result.open_positions)
    stats["unrealized_pnl"] = _round(sum(p.unrealized_pnl for p in result.open_positions))
    return stats


def to_dict(result: BacktestResult) -> dict[str, Any]:
    """The whole result as plain data (what `--json` prints)."""
    span = result.end_ms - result.start_ms
    trades = result.trades
    return {
        "files": result.files,
        "start": stamp(result.start_ms),
        "end": stamp(result.end_ms),
        "messages": result.messages,
        "malformed": result.malformed,
        "change_24h": result.change_24h,
        "trend_note": trend_note(result),
        "range_warmup": range_warmup(result),
        "fill_model": fill_model(result),
        "latency_ms": result.latency_ms,
        "taker_fee_pct": result.taker_fee_pct,
        "starting_balance": result.starting_balance,
        "instruments": result.instruments,
        "inferred_instruments": result.inferred_instruments,
        "instrument_sources": result.instrument_sources,
        "instrument_note": instrument_note(result.instrument_sources),
        "signals": result.signals,
        "decisions": result.decisions,
        "refused_checks": result.refusals,
        "alerts": result.alerts,
        "not_flat": bool(result.open_positions),
        "error": not_flat_error(result),
        "open_positions": [open_dict(p) for p in result.open_positions],
        "funding": [
            {"time": stamp(p.at), "symbol": p.symbol, "paid": _round(p.amount),
             "rate_pct": _round(p.rate_pct, 8), "rate_from": p.source}
            for p in result.funding
        ],
        "funding_rate_pct": result.funding_rate_pct,
        "stops_at_print": [
            {"time": stamp(at), "symbol": symbol, "price": _round(price, 10)}
            for at, symbol, price in result.stops_at_print
        ],
        "stops_refused": [
            {"time": stamp(at), "symbol": symbol, "stop": _round(stop, 10)}
            for at, symbol, stop in result.stops_refused
        ],
        "feed_latency_ms": result.feed_latency_ms,
        "answer_latency_ms": result.answer_latency_ms,
        "summary": _summary_all(result, span),
        "by_kind": {
            kind: summarize(group, result.starting_balance, span)
            for kind, group in _groups(trades, "kind").items()
        },
        "by_symbol": {
            symbol: summarize(group, result.starting_balance, span)
            for symbol, group in _groups(trades, "symbol").items()
        },
        "trades": [trade_dict(t) for t in trades],
    }


def not_flat_error(result: BacktestResult) -> str | None:
    """The error a run that ended with open positions carries (None when flat)."""
    if not result.open_positions:
        return None
    names = ", ".join(f"{p.side} {p.qty:g} {p.symbol}" for p in result.open_positions)
    return (
        f"NOT FLAT: {len(result.open_positions)} position(s) could not be closed by the end "
        f"of the data ({names}); marked to market, unrealized "
        f"{sum(p.unrealized_pnl for p in result.open_positions):+.4f} USDT"
    )


def to_json(result: BacktestResult) -> str:
    return json.dumps(to_dict(result), sort_keys=True)


SOURCE_TEXT = {
    "given": "given (--instrument, --instruments)",
    "known": "Bybit's published rules",
    "inferred": "INFERRED from the data (tick and qty step from the printed decimals, minimum "
    "qty one step, minimum notional 5 USDT)",
}


def instrument_note(sources: dict[str, str]) -> str:
    """Where the trading rules of each symbol came from, one clause per source."""
    by_source: dict[str, list[str]] = {}
    for symbol, source in sorted(sources.items()):
        by_source.setdefault(source, []).append(symbol)
    parts = [
        f"{', '.join(symbols)}: {SOURCE_TEXT.get(source, source)}"
        for source, symbols in sorted(by_source.items())
    ]
    return "instrument rules: " + ("; ".join(parts) if parts else "none listed")


def range_warmup(result: BacktestResult) -> dict[str, Any]:
    """When the range rules (new territory, range_return) could first judge each of their
    ranges: a replay has no klines, so its warm-up is the recording itself, from the minute
    of its first data (the tape counts history by minutes); until then they say "unknown"."""
    hours = sorted(result.config.get("tape", {}).get("range_hours") or [])
    first_minute = result.start_ms // MINUTE_MS * MINUTE_MS
    judged: dict[str, str | None] = {}
    for h in hours:
        at = first_minute + round(h * HOUR_MS)
        judged[f"{h:g}"] = stamp(at) if at <= result.end_ms else None
    held = (result.end_ms - result.start_ms) / MINUTE_MS
    parts = [
        f"the {h} h range from {at}" if at else f"the {h} h range never (unknown throughout)"
        for h, at in judged.items()
    ]
    note = (
        "range warm-up: a replay has no klines, so the range rules judge a range only once "
        f"the recording covers it (new territory the longest, range_return each): "
        f"{'; '.join(parts) or 'no range configured'} (the recording holds {held:.1f} min)"
    )
    return {"hours": hours, "judged_from": judged, "recorded_min": _round(held, 1),
            "note": note}


def trend_note(result: BacktestResult) -> str:
    symbols = sorted(i["symbol"] for i in result.instruments)
    missing = [s for s in symbols if s not in result.change_24h]
    given = ", ".join(f"{s} {v:+g}%" for s, v in result.change_24h.items())
    parts = []
    if given:
        parts.append(f"24 h change given explicitly (--change-24h), not from tickers: {given}")
    if missing:
        parts.append(
            f"no 24 h change given for {', '.join(missing)} (the recording has no tickers "
            "unless it says otherwise): its trend stays FLAT and it gives no signals; give "
            "one with --change-24h SYMBOL=PCT"
        )
    return "; ".join(parts)


# ---- terminal ---------------------------------------------------------------------------------


def text_chart(points: list[tuple[int, float]], width: int = CHART_WIDTH,
               height: int = CHART_HEIGHT) -> list[str]:
    """The equity curve as `height` rows of block characters, labelled with its range."""
    if len(points) < 2:
        return ["(no closed trades: the equity curve is flat)"]
    start, end = points[0][0], points[-1][0]
    span = max(1, end - start)
    columns = []
    index = 0
    for col in range(width):
        at = start + span * col / (width - 1)
        while index + 1 < len(points) and points[index + 1][0] <= at:
            index += 1
        columns.append(points[index][1])
    low, high = min(columns), max(columns)
    scale = (high - low) or 1.0
    rows = []
    for row in range(height, 0, -1):
        line = []
        for value in columns:
            # The lowest value still shows one row, so the curve never vanishes at its low.
            filled = 1 + (value - low) / scale * (height - 1) if high > low else height / 2
            part = filled - (row - 1)
            line.append(BLOCKS[max(0, min(8, round(part * 8)))] if part > 0 else " ")
        label = f"{high:.2f}" if row == height else f"{low:.2f}" if row == 1 else ""
        rows.append(f"{label:>10} |{''.join(line)}|")
    rows.append(f"{'':>10}  {stamp(start)[11:19]}{'':>{width - 16}}{stamp(end)[11:19]}")
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


SUMMARY_KEYS = (
    "trades", "win_rate_pct", "net_pnl", "fees", "fee_drag_pct", "expectancy", "profit_factor",
    "avg_win", "avg_loss", "avg_hold_s", "avg_mae_pct", "avg_mfe_pct", "max_drawdown",
    "max_drawdown_pct", "sharpe_per_trade", "exposure_pct",
)


def _summary_table(data: dict[str, Any]) -> list[str]:
    groups = {"all": data["summary"]}
    groups.update({f"kind {k}": v for k, v in data["by_kind"].items()})
    groups.update({f"symbol {k}": v for k, v in data["by_symbol"].items()})
    width = max(len(g) for g in groups) + 2
    lines = [f"{'':<{width}}" + "".join(f"{k:>17}" for k in SUMMARY_KEYS)]
    for name, stats in groups.items():
        lines.append(f"{name:<{width}}" + "".join(f"{_fmt(stats[k]):>17}" for k in SUMMARY_KEYS))
    return lines


def _count_table(groups: list[tuple[str, dict[str, int]]]) -> list[str]:
    """`what  name  count` rows, one per counted name ("none" for an empty group)."""
    rows = [(what, name, str(count)) for what, counts in groups
            for name, count in (counts.items() if counts else [("none", 0)])]
    width = max(len(name) for _, name, _ in rows) + 2
    out, last = [], ""
    for what, name, count in rows:
        out.append(f"{what if what != last else '':<12}{name:<{width}}{count:>6}")
        last = what
    return out


def render_text(result: BacktestResult) -> str:
    data = to_dict(result)
    out = [
        f"backtest: {', '.join(result.files)}",
        f"  {data['start']} .. {data['end']}, {result.messages:,} messages "
        f"({result.malformed} malformed)",
    ]
    if data["trend_note"]:
        out.append(f"  {data['trend_note']}")
    out.append(f"  {data['range_warmup']['note']}")
    out.append(f"  {data['instrument_note']}")
    out.append(f"  fill model: {data['fill_model']}")
    out.append("")
    out.append("signals and decisions:")
    out.extend("  " + line for line in _count_table([
        ("signals", result.signals), ("decisions", result.decisions),
        ("refused by", result.refusals),
    ]))
    for alert in result.alerts:
        out.append(f"  ALERT {alert}")
    if data["error"]:
        out.append(f"  ERROR {data['error']}")
    for item in data["stops_at_print"]:
        out.append(
            f"  stop {item['time']} {item['symbol']}: filled at the print {item['price']:g} "
            "(the exchange's book had nothing on its side)"
        )
    for item in data["stops_refused"]:
        out.append(
            f"  stop {item['time']} {item['symbol']}: the move to {item['stop']:g} was refused "
            "on arrival (the price was already past it); the stop before it stayed"
        )
    for item in data["funding"]:
        source = "from the tickers" if item["rate_from"] == "ticker" else "configured"
        out.append(
            f"  funding {item['time']} {item['symbol']}: paid {item['paid']:+.6f} USDT at "
            f"{item['rate_pct']:g} % ({source})"
        )
    out.append("")
    out.append("trades:")
    if not result.trades:
        out.append("  none")
    else:
        out.append(
            f"  {'entry time':<24} {'exit time':<24} {'symbol':<10} {'kind':<9} {'side':<5} "
            f"{'qty':>10} {'entry':>12} {'exit':>12} {'exit reason':<18} {'pnl':>10} {'fees':>9} "
            f"{'mae %':>8} {'mfe %':>8}"
        )
        for t in result.trades:
            out.append(
                f"  {stamp(t.entry_time):<24} {stamp(t.exit_time):<24} {t.symbol:<10} "
                f"{t.kind:<9} {t.side:<5} {t.qty:>10g} {t.entry_price:>12g} {t.exit_price:>12g} "
                f"{t.exit_reason:<18} {t.pnl:>10.4f} {t.fees:>9.4f} "
                f"{_fmt(_round(t.mae_pct, 4)):>8} {_fmt(_round(t.mfe_pct, 4)):>8}"
            )
    if result.open_positions:
        out.append("")
        out.append("open at the end (marked to market, unrealized PnL before the exit fee):")
        out.append(
            f"  {'entry time':<24} {'symbol':<10} {'side':<5} {'qty':>10} {'entry':>12} "
            f"{'mark':>12} {'unrealized':>11} {'fees':>9}"
        )
        for p in result.open_positions:
            out.append(
                f"  {stamp(p.entry_time):<24} {p.symbol:<10} {p.side:<5} {p.qty:>10g} "
                f"{p.entry_price:>12g} {p.mark_price:>12g} {p.unrealized_pnl:>11.4f} "
                f"{p.fees:>9.4f}"
            )
    out.append("")
    out.append("summary (PnL after fees, USDT; Sharpe per trade, not annualised):")
    out.extend("  " + line for line in _summary_table(data))
    out.append("")
    out.append(f"equity (start {result.starting_balance:g} USDT):")
    out.extend("  " + line for line in text_chart(equity_curve(result)))
    return "\n".join(out) + "\n"


# ---- files ------------------------------------------------------------------------------------

CSV_FIELDS = (
    "entry_time", "exit_time", "symbol", "kind", "side", "qty", "entry_price", "exit_price",
    "exit_reason", "pnl", "fees", "hold_s", "pnl_pct", "fee_drag_pct", "mae_pct", "mfe_pct",
)


def trades_csv(result: BacktestResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for trade in result.trades:
        row = trade_dict(trade)
        writer.writerow({k: row[k] for k in CSV_FIELDS})
    return buffer.getvalue()


def _svg(points: list[tuple[int, float]], colour: str, title: str, fill: bool) -> str:
    width, height, pad = SVG_WIDTH, SVG_HEIGHT, 40
    if len(points) < 2:
        points = [points[0], (points[0][0] + 1, points[0][1])] if points else [(0, 0.0), (1, 0.0)]
    t0, t1 = points[0][0], points[-1][0]
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1

    def x(ts: int) -> float:
        return pad + (ts - t0) / max(1, t1 - t0) * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - (value - low) / (high - low) * (height - 2 * pad)

    path = []
    previous = None
    for ts, value in points:
        if previous is not None:
            path.append(f"{x(ts):.1f},{y(previous):.1f}")
        path.append(f"{x(ts):.1f},{y(value):.1f}")
        previous = value
    line = " ".join(path)
    area = ""
    if fill:
        base = y(min(0.0, high))
        area = (f'<polygon points="{x(t0):.1f},{base:.1f} {line} {x(t1):.1f},{base:.1f}" '
                f'fill="{colour}" fill-opacity="0.2"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{html.escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ccc"/>{area}'
        f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>'
        f'<text x="4" y="{pad - 8}" font-size="12">{high:.4f}</text>'
        f'<text x="4" y="{height - 8}" font-size="12">{low:.4f}</text>'
        f'<text x="{width - pad}" y="{height - 8}" font-size="12" text-anchor="end">'
        f'{html.escape(stamp(t1))}</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="12">{html.escape(stamp(t0))}</text></svg>'
    )


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(result: BacktestResult) -> str:
    """A self-contained page: no script, no external asset."""
    data = to_dict(result)
    curve = equity_curve(result)
    groups = {"all": data["summary"]}
    groups.update({f"kind {k}": v for k, v in data["by_kind"].items()})
    groups.update({f"symbol {k}": v for k, v in data["by_symbol"].items()})
    summary = _table(["group", *SUMMARY_KEYS], ([g, *(s[k] for k in SUMMARY_KEYS)]
                                                for g, s in groups.items()))
    trades = _table(CSV_FIELDS, ([row[k] for k in CSV_FIELDS]
                                 for row in (trade_dict(t) for t in result.trades)))
    config = json.dumps(result.config, indent=2, sort_keys=True)
    facts = _table(["", ""], [
        ["files", ", ".join(result.files)],
        ["period", f"{data['start']} .. {data['end']}"],
        ["messages", f"{result.messages} ({result.malformed} malformed)"],
        ["24 h change", data["trend_note"] or "from tickers"],
        ["range warm-up", data["range_warmup"]["note"]],
        ["fill model", data["fill_model"]],
        ["latency", f"{result.latency_ms} ms of recorded time"],
        ["taker fee", f"{result.taker_fee_pct:g} %"],
        ["starting balance", f"{result.starting_balance:g} USDT"],
        ["signals", json.dumps(result.signals)],
        ["decisions", json.dumps(result.decisions)],
        ["refused by", json.dumps(result.refusals)],
        ["instruments", data["instrument_note"]],
    ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>densitytui backtest</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
pre {{ background: #f6f6f6; padding: 1em; font-size: 12px; }}
</style></head><body>
<h1>densitytui backtest</h1>
{facts}
<h2>Equity (USDT, after fees)</h2>
{_svg(curve, "#1f77b4", "equity", False)}
<h2>Drawdown (USDT below the running peak)</h2>
{_svg(drawdowns(curve), "#d62728", "drawdown", True)}
<h2>Summary</h2>
<p>PnL after fees in USDT; Sharpe per trade (mean / standard deviation), not annualised;
exposure is the share of the replayed time with a position open.</p>
{summary}
<h2>Trades</h2>
{trades}
<h2>Config used</h2>
<pre>{html.escape(config)}</pre>
</body></html>
"""


def write_report(result: BacktestResult, folder: Path) -> list[Path]:
    """`report.html` and `trades.csv` in `folder` (created); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "report.html"
    page.write_text(render_html(result), encoding="utf-8")
    table = folder / "trades.csv"
    table.write_text(trades_csv(result), encoding="utf-8")
    return [page, table]
