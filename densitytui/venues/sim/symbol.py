"""One simulated contract: an order book driven by order flow, its trades, ticker and candles.

Prices are tick counts and sizes qty-step counts. A fair price (an anchor that drifts, or that a
scenario steers, plus fast mean-reverting noise whose size clusters in time) drives the flow:

- stale quotes on the wrong side of the fair price are taken by market orders (trades), and
  market makers re-quote at the touch, so price only moves through trades and quotes;
- book events resize, add and cancel levels, mostly near the touch; level sizes are drawn from a
  profile that is thin at the touch and grows with depth, with log-normal noise;
- small market orders with heavy-tailed sizes arrive at random and walk the book.

A taker walks the book level by level and each fill becomes a `publicTrade` entry at that level's
price, so trades and book always agree. The wall of the running scenario (see `scenarios`) is
protected: only the scenario resizes it or trades into it.

Every random draw comes from the symbol's own `Random`, seeded with the market seed and the symbol,
and never depends on whether anyone is subscribed: a symbol's stream is the same whatever else is
simulated or watched.
"""

from __future__ import annotations

import math
import zlib
from random import Random
from statistics import NormalDist

from densitytui.model import Kline, Ticker
from densitytui.venues.sim.frames import Formats, book_frame, fixed, ticker_frame, trade_frame
from densitytui.venues.sim.history import DAY_MINUTES, MINUTE_MS, MinuteBars
from densitytui.venues.sim.instruments import SymbolSpec
from densitytui.venues.sim.ladder import BOOK_DEPTH, Ladder
from densitytui.venues.sim.scenarios import Planner

STEP_MS = 20
TICKER_STEPS = 5
KEEP_LEVELS = 90
MAX_LEVELS = 140
# A level `d` deep is on average (1 + d / SIZE_GROWTH) times a level at the touch (levels beyond
# the published window are sized like its last level).
SIZE_GROWTH = 35.0
SIZE_SIGMA = 0.35
# Noise stops here: with level sizes of a few thousand USDT, no ordinary level reaches the
# 50,000 USDT of a density (DESIGN §2), so walls come from the scenarios alone.
SIZE_NOISE_CAP = 2.2
# The side that pushes a trending symbol is this much deeper (bids of a gainer, asks of a loser).
TREND_DEPTH = 2.0
# Depth (in levels) around which book events near the touch happen, on average.
EVENT_DEPTH = 12.0
EVENT_RATE_PER_LEVEL = 1.0 / EVENT_DEPTH
# A new level goes into the first hole wider than the usual gap within this many levels.
HOLE_SEARCH = 20
NOISE_TAU_S = 3.0
# Stationary std of the fast price noise, in level gaps.
NOISE_GAPS = 1.5
# Volatility clustering: log volatility mean-reverts over VOL_TAU_S, updated every VOL_STEPS.
VOL_TAU_S = 60.0
VOL_SIGMA = 0.4
VOL_STEPS = 5
# Random walk of the anchor between scenarios, in bps per sqrt(second).
FREE_VOL_BPS = 0.6
# Small market orders: Pareto sizes in units of TRADE_UNIT x a touch level, capped.
TRADE_ALPHA = 1.4
TRADE_UNIT = 0.08
TRADE_CAP = 40.0
DAY_MS = DAY_MINUTES * MINUTE_MS
FUNDING_MS = 8 * 60 * MINUTE_MS
# The index trails the mark by 1/INDEX_DISCOUNT (2 bp), as a perpetual at a small premium does.
INDEX_DISCOUNT = 5_000
TRADE_ID_MUL = 0x9E3779B97F4A7C15F39CC0605CEDC835
MASK_128 = (1 << 128) - 1

# Quantiles of the standard normal, drawn by index: several times cheaper than a variate per
# draw, and the same distribution at this resolution. Level sizes use them capped log-normal.
QUANTILES = 4096
NORMAL = [NormalDist().inv_cdf((i + 0.5) / QUANTILES) for i in range(QUANTILES)]
SIZE_NOISE = [min(math.exp(SIZE_SIGMA * z), SIZE_NOISE_CAP) for z in NORMAL]

Out = list[tuple[int, int, int, bytes]]
"""Frames of one step: (ts, symbol order, sequence, frame); sorted by the market."""


class SymbolSim:
    """The whole simulated life of one symbol; `step` advances it by 20 ms."""

    def __init__(self, spec: SymbolSpec, seed: int, start_ms: int, order: int) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.order = order
        self.rng = rng = Random(f"densitytui-sim:{seed}:{spec.symbol}")
        self.fmt = Formats(spec)
        self.tick_size = spec.tick_size
        self.step_size = spec.step_size
        self.gap = spec.gap_ticks
        self.gap_step = max(1, round(self.gap))
        self.wide_hole = 2 * self.gap + 1
        self.lot_usdt = spec.price * spec.step_size
        self.bids = Ladder(is_bid=True)
        self.asks = Ladder(is_bid=False)

        touch_lots = spec.level_usdt / self.lot_usdt
        norm = math.exp(SIZE_SIGMA * SIZE_SIGMA / 2)
        bid_mult = TREND_DEPTH if spec.trend_sign > 0 else 1.0
        ask_mult = TREND_DEPTH if spec.trend_sign < 0 else 1.0
        self.bid_profile = [
            touch_lots * bid_mult * (1 + d / SIZE_GROWTH) / norm for d in range(BOOK_DEPTH + 1)
        ]
        self.ask_profile = [
            touch_lots * ask_mult * (1 + d / SIZE_GROWTH) / norm for d in range(BOOK_DEPTH + 1)
        ]
        self.trade_unit = touch_lots * TRADE_UNIT

        step_s = STEP_MS / 1000
        start_tick = round(spec.price / self.tick_size)
        self.anchor = start_tick + 0.5
        self.target: float | None = None
        self.speed = 0.0
        self.noise = 0.0
        self.noise_scale = 1.0
        self.noise_k = step_s / NOISE_TAU_S
        self.noise_step = NOISE_GAPS * self.gap * math.sqrt(2 * self.noise_k)
        self.logvol = 0.0
        self.vol = 1.0
        self.vol_k = VOL_STEPS * step_s / VOL_TAU_S
        self.vol_step = VOL_SIGMA * math.sqrt(2 * self.vol_k)
        ticks_per_bp = spec.price / 10_000 / self.tick_size
        self.free_step = FREE_VOL_BPS * ticks_per_bp * math.sqrt(step_s)
        self.drift = math.log1p(spec.change_24h_pct / 100) / (DAY_MS / STEP_MS) * start_tick
        self.event_rate = spec.events_per_s / 1000
        self.trade_rate = spec.trades_per_s / 1000

        self._build_book(start_tick)
        self.wall_ladder: Ladder | None = None
        self.wall_tick = 0
        self.wall_base = 0
        self.wall_peak = 0

        self.now = start_ms
        self.next_event = start_ms + rng.expovariate(self.event_rate)
        self.next_trade = start_ms + rng.expovariate(self.trade_rate)
        self.steps = 0
        self.u = 0
        code = zlib.crc32(spec.symbol.encode())
        self.seq = 10_000_000_000 + code
        self.sequence = 0
        self.trade_count = 0
        self.trade_salt = (seed * 0x100000001B3 + code) & MASK_128
        self.last_tick = start_tick
        self.tick_direction = "ZeroPlusTick"
        self.volume_24h = spec.turnover_24h / spec.price
        self.turnover_24h = spec.turnover_24h
        self.open_interest = spec.turnover_24h / spec.price * 0.12
        scale = self.fmt.qty_scale
        self.open_interest_text = fixed(round(self.open_interest * 10**scale), scale)
        self.funding_text = fixed(100 * (1 + spec.trend_sign), 6)
        self.bars = MinuteBars(
            Random(f"densitytui-sim-history:{seed}:{spec.symbol}"),
            start_ms,
            spec.price / (1 + spec.change_24h_pct / 100),
            start_tick * self.tick_size,
            sigma_per_minute=0.0009,
            volume_per_minute=spec.turnover_24h / DAY_MINUTES / spec.price,
            tick=self.tick_size,
        )
        self.ticker_last: dict[str, str] = {}
        self.planner = Planner(self, start_ms)

        self.subscribed = False
        self.needs_snapshot = False
        self._out: Out = []

    # ---- book shape

    def draw(self, is_bid: bool, depth: int) -> int:
        """A fresh size for a level `depth` deep on one side."""
        profile = self.bid_profile if is_bid else self.ask_profile
        base = profile[depth] if depth < BOOK_DEPTH else profile[BOOK_DEPTH]
        return max(1, int(base * SIZE_NOISE[int(self.rng.random() * QUANTILES)] + 0.5))

    def _gap(self) -> int:
        """Ticks from one quoted level to the next one deeper."""
        extra = self.gap - 1.0
        if extra <= 0.05:
            return 1
        return 1 + int(self.rng.expovariate(1.0 / extra) + 0.5)

    def _build_book(self, mid_tick: int) -> None:
        bid = mid_tick
        ask = mid_tick + 1
        for depth in range(KEEP_LEVELS):
            self.bids.set(bid, self.draw(True, depth))
            self.asks.set(ask, self.draw(False, depth))
            bid -= self._gap()
            ask += self._gap()

    def mid(self) -> float:
        return (self.bids.ticks[-1] + self.asks.ticks[0]) * 0.5

    # ---- the scenario's wall

    def place_wall(self, is_bid: bool, depth: int, lots: int) -> int:
        """Add `lots` to the level `depth` deep and protect it; returns its tick."""
        ladder = self.bids if is_bid else self.asks
        tick = ladder.tick_at(depth)
        base = ladder.lots[tick]
        ladder.set(tick, base + lots)
        self.wall_ladder = ladder
        self.wall_tick = tick
        self.wall_base = base
        self.wall_peak = base + lots
        return tick

    def wall_lots(self) -> int:
        ladder = self.wall_ladder
        return ladder.lots.get(self.wall_tick, 0) if ladder is not None else 0

    def wall_depth(self) -> int:
        """Levels in front of the wall (0: it is the touch); -1 when there is no wall."""
        ladder = self.wall_ladder
        if ladder is None or self.wall_tick not in ladder.lots:
            return -1
        return ladder.depth_of(self.wall_tick)

    def hit_wall(self, lots: int, ts: int) -> int:
        """A market order from the scenario that may trade into (and through) the wall."""
        ladder = self.wall_ladder
        if ladder is None:
            return 0
        return self.execute(not ladder.is_bid, lots, ts, through_wall=True)

    def cancel_wall(self) -> None:
        """Take the wall's own size off its level (what rested there before stays)."""
        ladder = self.wall_ladder
        if ladder is not None and self.wall_tick in ladder.lots:
            ladder.set(self.wall_tick, min(ladder.lots[self.wall_tick], self.wall_base))
        self.forget_wall()

    def forget_wall(self) -> None:
        self.wall_ladder = None

    def steer(self, target: float | None, ticks_per_s: float = 0.0) -> None:
        """Move the anchor toward `target` at `ticks_per_s`; None lets it walk freely."""
        self.target = target
        self.speed = ticks_per_s * STEP_MS / 1000

    # ---- flow

    def execute(self, buy: bool, lots: int, ts: int, through_wall: bool = False) -> int:
        """A market order of `lots` walking the other side; returns the lots filled."""
        ladder = self.asks if buy else self.bids
        ticks = ladder.ticks
        sizes = ladder.lots
        wall = self.wall_tick if ladder is self.wall_ladder and not through_wall else None
        fills: list[tuple[int, int]] = []
        while lots > 0 and len(ticks) > 1:
            tick = ticks[0] if buy else ticks[-1]
            if tick == wall:
                break
            have = sizes[tick]
            if have > lots:
                ladder.set(tick, have - lots)
                fills.append((tick, lots))
                lots = 0
            else:
                ladder.set(tick, 0)
                fills.append((tick, have))
                lots -= have
        if fills:
            self._record_trades(buy, fills, ts)
        return sum(size for _, size in fills)

    def _record_trades(self, buy: bool, fills: list[tuple[int, int]], ts: int) -> None:
        fmt = self.fmt
        symbol = self.symbol
        side = "Buy" if buy else "Sell"
        tick_size = self.tick_size
        step_size = self.step_size
        entries: list[dict[str, object]] = []
        for tick, lots in fills:
            if tick > self.last_tick:
                self.tick_direction = "PlusTick"
            elif tick < self.last_tick:
                self.tick_direction = "MinusTick"
            elif self.tick_direction == "PlusTick":
                self.tick_direction = "ZeroPlusTick"
            elif self.tick_direction == "MinusTick":
                self.tick_direction = "ZeroMinusTick"
            self.last_tick = tick
            price = tick * tick_size
            qty = lots * step_size
            self.volume_24h += qty
            self.turnover_24h += qty * price
            self.bars.on_trade(ts, price, qty)
            self.trade_count += 1
            self.seq += 1 + (tick & 3)
            if self.subscribed:
                entries.append({
                    "T": ts,
                    "s": symbol,
                    "S": side,
                    "v": fmt.qty(lots),
                    "p": fmt.price(tick),
                    "L": self.tick_direction,
                    "i": self._trade_id(),
                    "BT": False,
                    "RPI": False,
                    "seq": self.seq,
                })
        if entries:
            self._emit(ts, trade_frame(symbol, ts, entries))

    def _trade_id(self) -> str:
        """A UUID-shaped id, unique per symbol and seed, as linear trade ids look."""
        text = f"{(self.trade_salt + self.trade_count * TRADE_ID_MUL) & MASK_128:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def _emit(self, ts: int, frame: bytes) -> None:
        self.sequence += 1
        self._out.append((ts, self.order, self.sequence, frame))

    def _take_stale(self, fair: float, ts: int) -> None:
        """Market orders take quotes left on the wrong side of the fair price."""
        quote_bid = math.floor(fair)
        asks = self.asks
        if asks.ticks[0] <= quote_bid:
            lots = 0
            wall = self.wall_tick if asks is self.wall_ladder else None
            for tick in asks.ticks:
                if tick > quote_bid or tick == wall:
                    break
                lots += asks.lots[tick]
            if lots:
                self.execute(True, lots + int(lots * 0.3 * self.rng.random()), ts)
        bids = self.bids
        if bids.ticks[-1] > quote_bid:
            lots = 0
            wall = self.wall_tick if bids is self.wall_ladder else None
            for tick in reversed(bids.ticks):
                if tick <= quote_bid or tick == wall:
                    break
                lots += bids.lots[tick]
            if lots:
                self.execute(False, lots + int(lots * 0.3 * self.rng.random()), ts)

    def _requote(self, fair: float) -> None:
        """Market makers close a spread wider than one tick around the fair price, and quote one
        usual gap behind a touch that stands alone."""
        bids = self.bids
        asks = self.asks
        best_ask = asks.ticks[0]
        quote = math.floor(fair)
        if quote >= best_ask:
            quote = best_ask - 1
        if quote > bids.ticks[-1]:
            bids.set(quote, self.draw(True, 0))
        quote = math.floor(fair) + 1
        best_bid = bids.ticks[-1]
        if quote <= best_bid:
            quote = best_bid + 1
        if quote < best_ask:
            asks.set(quote, self.draw(False, 0))
        wide = self.wide_hole
        ticks = bids.ticks
        if ticks[-1] - ticks[-2] > wide:
            bids.set(ticks[-1] - self.gap_step, self.draw(True, 1))
        ticks = asks.ticks
        if ticks[1] - ticks[0] > wide:
            asks.set(ticks[0] + self.gap_step, self.draw(False, 1))

    def _book_event(self) -> None:
        """A maker resizes a level, quotes into the next hole wider than usual, or cancels one."""
        rng = self.rng
        kind = rng.random()
        is_bid = rng.random() < 0.5
        ladder = self.bids if is_bid else self.asks
        n = len(ladder.ticks)
        # Half the events happen near the touch, half anywhere in the visible window.
        if rng.random() < 0.5:
            depth = int(rng.expovariate(EVENT_RATE_PER_LEVEL))
        else:
            depth = int(rng.random() * (BOOK_DEPTH + 10))
        if depth >= n - 1:
            depth = n - 2
        tick = ladder.tick_at(depth)
        wall = self.wall_tick if ladder is self.wall_ladder else None
        if kind < 0.55:
            if tick != wall:
                ladder.set(tick, self.draw(is_bid, depth))
        elif kind < 0.775:
            for at in range(depth, min(n - 1, depth + HOLE_SEARCH)):
                tick = ladder.tick_at(at)
                hole = abs(ladder.tick_at(at + 1) - tick)
                if hole > self.gap:
                    offset = 1 + int(rng.random() * (hole - 1))
                    new_tick = tick - offset if is_bid else tick + offset
                    ladder.set(new_tick, self.draw(is_bid, at + 1))
                    break
        elif tick != wall and n > KEEP_LEVELS // 2:
            ladder.set(tick, 0)

    def _small_order(self, fair: float, ts: int) -> None:
        rng = self.rng
        lean = (fair - self.mid()) / self.gap
        buy = rng.random() < 0.5 + 0.25 * math.tanh(lean)
        size = min(rng.paretovariate(TRADE_ALPHA), TRADE_CAP / TRADE_UNIT)
        self.execute(buy, max(1, int(self.trade_unit * size)), ts)

    def _keep_depth(self) -> None:
        """Quote new levels behind the deepest one and drop levels far outside the window."""
        for ladder in (self.bids, self.asks):
            ticks = ladder.ticks
            if KEEP_LEVELS <= len(ticks) <= MAX_LEVELS:
                continue
            is_bid = ladder.is_bid
            while len(ticks) < KEEP_LEVELS:
                worst = ticks[0] if is_bid else ticks[-1]
                tick = worst - self._gap() if is_bid else worst + self._gap()
                ladder.set(tick, self.draw(is_bid, len(ticks)))
            wall = self.wall_tick if ladder is self.wall_ladder else None
            while len(ticks) > MAX_LEVELS:
                worst = ticks[0] if is_bid else ticks[-1]
                if worst == wall:
                    break
                ladder.set(worst, 0)

    # ---- one step

    def step(self, out: Out) -> None:
        """Advance 20 ms; append this symbol's frames (if subscribed) to `out`."""
        self._out = out
        t0 = self.now
        t1 = t0 + STEP_MS
        rng = self.rng
        if self.needs_snapshot:
            self._snapshots(t0)

        if self.steps % VOL_STEPS == 0:
            self.logvol += -self.logvol * self.vol_k + self.vol_step * rng.gauss(0.0, 1.0)
            self.vol = math.exp(self.logvol)
        vol = self.vol
        random = rng.random
        self.noise += -self.noise * self.noise_k + (
            self.noise_step * self.noise_scale * vol * NORMAL[int(random() * QUANTILES)]
        )
        target = self.target
        if target is None:
            self.anchor += self.drift + self.free_step * vol * NORMAL[int(random() * QUANTILES)]
        else:
            distance = target - self.anchor
            speed = self.speed
            if -speed <= distance <= speed:
                self.anchor = target
            else:
                self.anchor += math.copysign(speed, distance)
        self.planner.step(t0 + 1)
        fair = self.anchor + self.noise
        self._take_stale(fair, t0 + 1)

        next_event = self.next_event
        next_trade = self.next_trade
        while True:
            if next_event <= next_trade:
                if next_event > t1:
                    break
                self._book_event()
                next_event += rng.expovariate(self.event_rate)
            else:
                if next_trade > t1:
                    break
                self._small_order(fair, max(int(next_trade), t0 + 1))
                next_trade += rng.expovariate(self.trade_rate)
        self.next_event = next_event
        self.next_trade = next_trade

        self._requote(fair)
        self._keep_depth()
        self.now = t1
        self.steps += 1
        if self.subscribed:
            bids = self.bids.diff(BOOK_DEPTH)
            asks = self.asks.diff(BOOK_DEPTH)
            if bids or asks:
                self._book(False, bids, asks, t1)
            if self.steps % TICKER_STEPS == 0:
                fields = self.ticker_fields(t1)
                last = self.ticker_last
                changed = {key: value for key, value in fields.items() if last.get(key) != value}
                if changed:
                    last.update(changed)
                    self._emit(t1, ticker_frame(self.symbol, False, changed, self.seq, t1))

    def _book(self, snapshot: bool, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
              ts: int) -> None:
        self.u += 1
        self.seq += 7 + len(bids) + len(asks)
        cts = ts - 1 - self.u % 4
        self._emit(ts, book_frame(self.symbol, self.fmt, snapshot, bids, asks, self.u, self.seq,
                                  ts, cts))

    def _snapshots(self, ts: int) -> None:
        self.needs_snapshot = False
        self._book(True, self.bids.snapshot(BOOK_DEPTH), self.asks.snapshot(BOOK_DEPTH), ts)
        fields = self.ticker_fields(ts)
        self.ticker_last = dict(fields)
        self._emit(ts, ticker_frame(self.symbol, True, fields, self.seq, ts))

    # ---- ticker, klines

    def _price(self, value: float) -> str:
        return self.fmt.price(round(value / self.tick_size))

    def ticker_fields(self, now: int) -> dict[str, str]:
        """Every field of the `tickers` snapshot, in Bybit's order."""
        fmt = self.fmt
        price = self._price
        best_bid = self.bids.ticks[-1]
        best_ask = self.asks.ticks[0]
        last = self.last_tick * self.tick_size
        high, low, prev_24h, prev_1h = self.bars.day_stats(now)
        mark = (best_bid + best_ask) // 2
        return {
            "tickDirection": self.tick_direction,
            "price24hPcnt": fixed(round((last / prev_24h - 1) * 1e6), 6),
            "lastPrice": fmt.price(self.last_tick),
            "prevPrice24h": price(prev_24h),
            "highPrice24h": price(max(high, last)),
            "lowPrice24h": price(min(low, last)),
            "prevPrice1h": price(prev_1h),
            "markPrice": fmt.price(mark),
            "indexPrice": fmt.price(mark - mark // INDEX_DISCOUNT),
            "openInterest": self.open_interest_text,
            "openInterestValue": fixed(round(self.open_interest * mark * self.tick_size * 100), 2),
            "turnover24h": fixed(round(self.turnover_24h * 10_000), 4),
            "volume24h": fixed(round(self.volume_24h * 10_000), 4),
            "fundingIntervalHour": "8",
            "fundingCap": "0.005",
            "nextFundingTime": str((now // FUNDING_MS + 1) * FUNDING_MS),
            "fundingRate": self.funding_text,
            "bid1Price": fmt.price(best_bid),
            "bid1Size": fmt.qty(self.bids.lots[best_bid]),
            "ask1Price": fmt.price(best_ask),
            "ask1Size": fmt.qty(self.asks.lots[best_ask]),
            "preOpenPrice": "",
            "preQty": "",
            "curPreListingPhase": "",
        }

    def ticker(self) -> Ticker:
        now = self.now
        last = self.last_tick * self.tick_size
        high, low, prev_24h, _ = self.bars.day_stats(now)
        return Ticker(
            symbol=self.symbol,
            last_price=last,
            change_24h_pct=(last / prev_24h - 1) * 100,
            turnover_24h=self.turnover_24h,
            volume_24h=self.volume_24h,
            high_24h=max(high, last),
            low_24h=min(low, last),
            ts=now,
        )

    def klines(self, interval_min: int, limit: int) -> list[Kline]:
        return self.bars.klines(interval_min, limit, self.now)
