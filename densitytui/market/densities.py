"""Density detection and tracking (DESIGN.md §2) for one symbol, incremental over book changes.

Numbers come from `[density]` (per symbol via `config.strategy(symbol)`); `threshold` below is
`min_notional_usdt`, or `auto_turnover_fraction` x 24 h turnover when that is larger.

Wall levels. A level whose notional reaches keep_fraction x threshold is a wall level. Only
those can be (part of) a density, so the book reports changes of those alone
(`OrderBook.watch_notional`) and small levels cost the tracker nothing.

Ticks. Prices are compared on the tick grid: two levels are neighbours when they lie one tick
apart, and distances are compared as whole ticks, so float noise never decides anything. The
tick is the instrument's (`set_tick`), else guessed at each snapshot as the smallest positive
gap between levels near the touch on either side (a later guess can only refine it). Without a
tick, clusters are off.

Runs and candidates. A run is a maximal set of wall levels on neighbouring ticks on one side.
It fits when its span is at most cluster_range_pct of its lowest price. A run that fits is one
candidate, judged at its size-weighted price with its summed size; a run that does not fit is a
thick book rather than a wall, and each of its levels is a candidate on its own. With
cluster_range_pct = 0 every level is a candidate on its own.

Criteria, all required for a candidate none of whose levels is tracked yet:
  absolute  summed notional >= threshold;
  distance  weighted price within max_distance_pct of mid;
  share     summed size >= side_share_pct of the visible volume on its side;
  relative  summed size >= relative_factor x the mean size of the relative_neighbors levels
            nearest to its weighted price, outside the candidate (levels of any size; distances
            in ticks; of two levels equally far, the lower price counts first).
A qualifying candidate becomes a density: `price` is its anchor level (its largest level, a real
price on the tick grid), `price_low`..`price_high` its edges, `levels` their count. Free wall
levels in a fitting run that holds a density join that density (the one nearest them); a
density whose run stops fitting keeps its anchor alone and frees the rest. A density keeps its
identity (`id`) while it lives; if its anchor stops being a wall level, its largest remaining
level takes over.

So, after every book message: every level of a qualifying candidate belongs to a live density,
and every live density holds a wall level. The work follows what changed: a candidate is judged
when one of its levels grows or becomes a wall level, when a wall level beside it leaves (its
run split or shrank), when a new wall level makes its run too wide to fit, and when one of its
levels shrinks if it failed on distance (its weighted price moved); one that failed on share waits,
keyed by the side volume at which it would pass, until the volume falls that far; all are judged
again when mid moves far enough for one that failed on distance to pass; those that failed only
the relative criterion (few) are judged on every message; judging and regrowing repeat until
nothing is left to do. `tests/integration/market/test_density_oracle.py` checks this against a
brute-force reading after every message of real and simulated books.

Hysteresis. A tracked density stays while at least one of its levels holds keep_fraction x
threshold, its weighted price stays within max_distance_pct of mid, and it stays inside the
book's depth window.
Share and relative are not checked again: a wall does not flicker because another one appeared.

Eaten and pulled, over the density's life:
  eaten   the volume traded at its prices against its side (a taker sell hits bids). A trade
          at a resting price consumes that level by definition, so it needs no matching with
          book deltas; only trades the book had not yet shown when the density appeared
          (trade time T after that book message's cts) count.
  pulled  the part of its net loss, peak size minus current size, that trades do not explain:
          max(0, peak - size - eaten). Size that comes and goes (market makers refreshing
          their quotes at the same price) is therefore not counted as pulled again and again.
  So eaten + pulled = peak - size whenever nothing was refilled, and erosion x peak = that loss.
Trades and book messages arrive apart, in either order. When a density's last wall level goes,
its outcome waits trade_match_s of message time: trades printed before the book showed the loss
(T <= that message's cts) that arrive meanwhile are still counted as eaten.

The spoof flag (`is_spoof`) is raised when more than spoof_pulled_pct of what a density lost was
pulled, once that loss reaches change_report_pct of its peak (one small cancel is no spoof).

Events, each stamped with the time of the message that caused it: appeared; confirmed once it
lived min_lifetime_s; changed when its size moved by change_report_pct since its last event,
its spoof flag flipped or it was frozen or thawed; gone, with an outcome. A gone event that
waited for late trades is stamped when its outcome was decided (the message after the wait, or
the end of input in `finish`), so events stay in time order; its `density.last_seen` says when
its walls went. The outcomes:
  eaten         it lost its walls, at least as much to trades as to cancels;
  held          price tested it (a trade within signals.bounce_max_distance_pct of its price
                from its range of levels) and it outlived the test: it left the distance or
                depth window, or its walls were taken down while the last trade was away from
                it (beyond that distance); `scan` counts a density still there at the end of a
                replay as held too when tested;
  spoof         it lost its walls, and more than spoof_pulled_pct of what it lost was pulled
                (while price was near, or before price ever tested it);
  pulled        it lost its walls, mostly pulled but below the spoof share;
  out_of_range  it left the distance or depth window untested;
  faded         the threshold rose above it (auto mode) while it had lost nothing.
A level that scrolls out of the depth window arrives as a delete; it is told apart from a
cancel by lying beyond the new edge of a full window.

Frozen. While the book is invalid (a sequence gap, a crossed book) the engine calls
`set_frozen(True, ts)`: densities are flagged `frozen` and nothing is confirmed until the
healing snapshot; see `set_frozen` for what min_lifetime_s means then.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from heapq import heappop, heappush
from itertools import pairwise
from typing import TYPE_CHECKING

from densitytui.market.book import Change, OrderBook
from densitytui.market.decode import TradePrint
from densitytui.market.spoof import is_spoof
from densitytui.model import (
    BookSide,
    Density,
    DensityEvent,
    DensityEventKind,
    DensityOutcome,
    Side,
)

if TYPE_CHECKING:
    from densitytui.config import DensitySection, SignalsSection

_BID = BookSide.BID
_BUY_TAKER = Side.BUY
_INF = float("inf")
_NEVER = 2**63
# Levels per side, nearest the touch, that the tick guess looks at.
_TICK_LEVELS = 32
APPEARED = DensityEventKind.APPEARED
CONFIRMED = DensityEventKind.CONFIRMED
CHANGED = DensityEventKind.CHANGED
GONE = DensityEventKind.GONE


def _left_outcome(density: Density) -> DensityOutcome:
    """A density that left the distance or depth window: held if price had tested it."""
    return DensityOutcome.HELD if density.tested_at is not None else DensityOutcome.OUT_OF_RANGE


class DensityRules:
    """The numbers in force for one symbol, as plain floats (no pydantic on the hot path)."""

    __slots__ = (
        "auto_fraction",
        "change_step",
        "cluster_range",
        "factor",
        "keep_fraction",
        "match_ms",
        "max_distance",
        "min_lifetime_ms",
        "min_notional",
        "neighbors",
        "share",
        "spoof_share",
        "test_distance",
    )

    def __init__(
        self,
        min_notional: float = 50_000.0,
        relative_factor: float = 3.0,
        relative_neighbors: int = 5,
        side_share_pct: float = 5.0,
        max_distance_pct: float = 2.0,
        min_lifetime_s: float = 10.0,
        keep_fraction: float = 0.75,
        cluster_range_pct: float = 0.15,
        spoof_pulled_pct: float = 60.0,
        auto_turnover_fraction: float = 0.0,
        trade_match_s: float = 1.0,
        change_report_pct: float = 10.0,
        test_distance_pct: float = 0.2,
    ) -> None:
        self.min_notional = min_notional
        self.factor = relative_factor
        self.neighbors = relative_neighbors
        self.share = side_share_pct / 100.0
        self.max_distance = max_distance_pct / 100.0
        self.min_lifetime_ms = round(min_lifetime_s * 1000)
        self.keep_fraction = keep_fraction
        self.cluster_range = cluster_range_pct / 100.0
        self.spoof_share = spoof_pulled_pct / 100.0
        self.auto_fraction = auto_turnover_fraction
        self.match_ms = round(trade_match_s * 1000)
        self.change_step = change_report_pct / 100.0
        self.test_distance = test_distance_pct / 100.0

    @classmethod
    def from_config(cls, density: DensitySection, signals: SignalsSection) -> DensityRules:
        return cls(
            min_notional=density.min_notional_usdt,
            relative_factor=density.relative_factor,
            relative_neighbors=density.relative_neighbors,
            side_share_pct=density.side_share_pct,
            max_distance_pct=density.max_distance_pct,
            min_lifetime_s=density.min_lifetime_s,
            keep_fraction=density.keep_fraction,
            cluster_range_pct=density.cluster_range_pct,
            spoof_pulled_pct=density.spoof_pulled_pct,
            auto_turnover_fraction=density.auto_turnover_fraction,
            trade_match_s=density.trade_match_s,
            change_report_pct=density.change_report_pct,
            test_distance_pct=signals.bounce_max_distance_pct,
        )

    def threshold(self, turnover_24h: float) -> float:
        """The absolute criterion in USDT for a symbol with this 24 h turnover."""
        return max(self.min_notional, self.auto_fraction * turnover_24h)


class _Side:
    """Wall levels of one book side, who owns them, and when to judge candidates again."""

    __slots__ = (
        "book_side",
        "candidates",
        "far",
        "is_bid",
        "ladder",
        "loose",
        "members",
        "mid_high",
        "mid_low",
        "owner",
        "relative_watch",
        "share_waiting",
        "sweep_due",
        "widened",
    )

    def __init__(self, book: OrderBook, book_side: BookSide) -> None:
        self.book_side = book_side
        self.is_bid = book_side is _BID
        self.ladder = book.ladder(book_side)
        # Wall levels: price → size.
        self.members: dict[float, float] = {}
        self.owner: dict[float, _Tracked] = {}
        # Wall levels to judge after this message.
        self.candidates: list[float] = []
        # New wall levels this message: the runs they join may stop fitting.
        self.widened: list[float] = []
        # Candidates that failed only the relative criterion: judged on every message.
        self.relative_watch: set[float] = set()
        # Levels of runs that failed on distance: a shrinking level moves its run's weighted
        # price, so it is judged again (stale entries cost a judgement, no more).
        self.far: set[float] = set()
        # Wall levels last found in a run too wide to fit (judged alone, or a density's lone
        # anchor): when one leaves, a piece of its run may fit now.
        self.loose: set[float] = set()
        # Candidates that failed on share, as (-side volume at which they would pass, price):
        # a heap, so a fall of the volume judges again exactly those it lets through.
        self.share_waiting: list[tuple[float, float]] = []
        # Judge every candidate again when mid leaves this band, or when told to.
        self.mid_low = -_INF
        self.mid_high = _INF
        self.sweep_due = False


class _Tracked:
    """A tracked density and what following it needs."""

    __slots__ = (
        "anchor",
        "density",
        "dirty",
        "due",
        "gone_cts",
        "left_alone",
        "members",
        "near_high",
        "near_low",
        "regrow",
        "reported_size",
        "reported_spoof",
        "side",
        "since_cts",
        "weighted",
        "window_exit",
    )

    def __init__(self, side: _Side, anchor: float, members: list[float], density: Density,
                 weighted: float, cts: int, due: int, test_distance: float) -> None:
        self.side = side
        self.anchor = anchor
        # Its wall levels, ascending, on neighbouring ticks.
        self.members = members
        self.density = density
        # The size-weighted price of its levels: what the distance criterion judges.
        self.weighted = weighted
        # Message time at which it is confirmed (unless frozen then).
        self.due = due
        # Trades the book had shown when it appeared (T <= since_cts) are not its own.
        self.since_cts = cts
        self.gone_cts = 0
        # Its walls went while the last trade was away from it (beyond bounce_max_distance_pct).
        self.left_alone = False
        self.dirty = False
        self.regrow = False
        self.window_exit = False
        self.reported_size = density.size
        self.reported_spoof = False
        self.near_low = 0.0
        self.near_high = 0.0
        self.set_near(test_distance)

    def set_near(self, test_distance: float) -> None:
        """Where a trade tests it: within test_distance x its price of its range of levels."""
        density = self.density
        reach = test_distance * density.price
        self.near_low = density.price_low - reach
        self.near_high = density.price_high + reach


class DensityTracker:
    """Finds and follows the densities of one symbol's book; appends events to `events`."""

    __slots__ = (
        "_ask",
        "_ask_owner",
        "_bid",
        "_bid_owner",
        "_closing",
        "_closing_prices",
        "_clusters",
        "_dirty",
        "_frozen",
        "_mid_high",
        "_mid_low",
        "_next_confirm",
        "_next_id",
        "_sides",
        "_tick_given",
        "_unconfirmed",
        "_untested",
        "book",
        "events",
        "last_cts",
        "last_price",
        "last_ts",
        "member_notional",
        "revision",
        "rules",
        "symbol",
        "threshold",
        "tick",
        "tracked",
    )

    def __init__(
        self,
        book: OrderBook,
        rules: DensityRules,
        events: list[DensityEvent] | None = None,
        tick: float | None = None,
        turnover_24h: float = 0.0,
    ) -> None:
        self.book = book
        self.symbol = book.symbol
        self.rules = rules
        self.events: list[DensityEvent] = [] if events is None else events
        self.threshold = rules.threshold(turnover_24h)
        self.member_notional = rules.keep_fraction * self.threshold
        book.watch_notional = self.member_notional
        self._bid = _Side(book, _BID)
        self._ask = _Side(book, BookSide.ASK)
        self._sides = (self._bid, self._ask)
        self._bid_owner = self._bid.owner
        self._ask_owner = self._ask.owner
        self.tracked: list[_Tracked] = []
        # Not yet confirmed, in order of their `due` time.
        self._unconfirmed: list[_Tracked] = []
        # Message time at which the oldest unconfirmed density comes of age.
        self._next_confirm = _NEVER
        self._frozen = False
        self._untested: list[_Tracked] = []
        # Densities whose walls went, waiting trade_match_s for late trades: (due ts, gone ts).
        self._closing: list[tuple[int, int, _Tracked]] = []
        self._dirty: list[_Tracked] = []
        self._next_id = 1
        # Mid may move within this band before a density leaves the distance window.
        self._mid_low = -_INF
        self._mid_high = _INF
        # Prices of the densities waiting for late trades, to skip other trades cheaply.
        self._closing_prices: set[float] = set()
        self.last_cts = 0
        # The time of the last message digested.
        self.last_ts = 0
        # The last traded price: where "price" is when a density's walls go.
        self.last_price = 0.0
        # Bumped when a density starts or stops being live, is confirmed, or is frozen or
        # thawed: a view of which densities can signal holds while it stands (a density whose
        # walls went is no longer live before its gone event, which waits for late trades).
        self.revision = 0
        self._tick_given = tick is not None
        self.tick = tick
        self._clusters = tick is not None and rules.cluster_range > 0.0

    # ---- queries -------------------------------------------------------------------------

    def densities(self) -> list[Density]:
        """Live densities (the tracker's own objects: `copy()` one to keep it); while the book
        is invalid they carry `frozen = True`."""
        return [t.density for t in self.tracked]

    @property
    def frozen(self) -> bool:
        return self._frozen

    def is_spoof(self, density: Density) -> bool:
        """More than spoof_pulled_pct of what it lost was pulled, once that loss is material
        (change_report_pct of its peak): `market.spoof.is_spoof`, the one rule."""
        return is_spoof(density, self.rules.spoof_share, self.rules.change_step)

    # ---- configuration -------------------------------------------------------------------

    def set_tick(self, tick: float) -> None:
        """Use the instrument's tick size (neighbouring ticks, tie-breaks) instead of a guess."""
        self._tick_given = True
        if self._use_tick(tick) and self.book.valid:
            self._settle(self.book.ts)

    def set_frozen(self, frozen: bool, ts: int) -> None:
        """Flag the book invalid (`frozen=True`: a sequence gap or a crossed book) or healed
        (`frozen=False`: the healing snapshot arrived; call it before or after that snapshot's
        `on_book`, with its time).

        While frozen every live density carries `Density.frozen = True` and none is confirmed:
        the book it stands in cannot be trusted. On unfreezing, a density that was not confirmed
        yet needs a full min_lifetime_s from `ts` (its `first_seen` is kept, but the wall has to
        prove itself again in a trusted book); one confirmed before the freeze stays confirmed.
        Each flip reports every live density as `changed`, so event consumers see the flag."""
        if frozen == self._frozen:
            return
        self._frozen = frozen
        self.revision += 1
        if not frozen:
            due = ts + self.rules.min_lifetime_ms
            for tracked in self._unconfirmed:
                tracked.due = due
        for tracked in self.tracked:
            tracked.density.frozen = frozen
            self._report(tracked, CHANGED, ts)
        self._schedule_confirm()

    def set_turnover(self, turnover_24h: float, ts: int) -> None:
        """Follow 24 h turnover in auto mode; moves under 2 % are ignored, to keep work low."""
        threshold = self.rules.threshold(turnover_24h)
        if abs(threshold - self.threshold) <= 0.02 * self.threshold:
            return
        self.threshold = threshold
        self.member_notional = member_notional = self.rules.keep_fraction * threshold
        self.book.watch_notional = member_notional
        for side in self._sides:
            side.members = {
                p: s for p, s in side.ladder.sizes.items() if p * s >= member_notional
            }
            side.sweep_due = True
        self._regrow_all()
        if self.book.valid:
            self._settle(ts)

    def _use_tick(self, tick: float) -> bool:
        """Take `tick` for runs and ties: every level is judged again at the next settle.
        False if it is the tick in use already."""
        if tick == self.tick:
            return False
        self.tick = tick
        self._clusters = self.rules.cluster_range > 0.0
        for side in self._sides:
            side.sweep_due = True
        self._regrow_all()
        return True

    def _regrow_all(self) -> None:
        for tracked in self.tracked:
            tracked.regrow = True
            self._mark(tracked)

    def _infer_tick(self) -> None:
        """Guess the tick as the smallest positive gap between levels near the touch, on both
        sides (deep levels are sparse; a gap seen proves the tick divides it). A guess never
        grows: a later snapshot can only refine it."""
        gap = _INF
        for ladder in (self.book.bids, self.book.asks):
            prices = ladder.prices
            near = prices[-_TICK_LEVELS:] if ladder.is_bid else prices[:_TICK_LEVELS]
            for low, high in pairwise(near):
                step = high - low
                if 0.0 < step < gap:
                    gap = step
        if gap < _INF:
            tick = float(f"{gap:.6g}")
            if self.tick is None or tick < self.tick:
                self._use_tick(tick)

    # ---- book messages -------------------------------------------------------------------

    def on_book(self, ts: int, cts: int, snapshot: bool = False) -> None:
        """Digest the book's last message (`book.changes`); `cts` is its matching-engine time."""
        if snapshot and not self._tick_given:
            self._infer_tick()
        self.last_cts = cts
        self.last_ts = ts
        changes = self.book.changes
        if changes:
            self._take_changes(changes, ts)
        self._settle(ts)
        if self._closing and self._closing[0][0] <= ts:
            self._close(ts)

    def _take_changes(self, changes: list[Change], ts: int) -> None:
        member_notional = self.member_notional
        clusters = self._clusters
        reach = 1.5 * self.tick if clusters else 0.0  # type: ignore[operator]
        current = None
        st = self._bid
        members = st.members
        owners = st.owner
        candidates = st.candidates
        for side, price, old, new in changes:
            if side is not current:
                # The book lists one side's changes, then the other's.
                current = side
                st = self._bid if side is _BID else self._ask
                members = st.members
                owners = st.owner
                candidates = st.candidates
            if new * price >= member_notional:
                members[price] = new
                owner = owners.get(price)
                if owner is None:
                    if old * price < member_notional:
                        candidates.append(price)
                        if clusters:
                            # A new wall level: the runs it joins may stop fitting.
                            st.widened.append(price)
                    elif new > old or price in st.far:
                        # A level that shrank fails as it did, but a run that failed only on
                        # distance has its weighted price moved.
                        candidates.append(price)
                    continue
                if old * price >= member_notional:
                    if owner.density.levels == 1 and not owner.dirty:
                        # The commonest change: a one-level density's size moved.
                        self._resize(owner, new, ts)
                        continue
                    flipped = False
                else:
                    flipped = True
            else:
                members.pop(price, None)
                owner = owners.get(price)
                if clusters and (owner is not None or price in st.loose or price in st.far):
                    # The runs on either side lost a level: judge their free levels again and
                    # let the densities that own the others regrow. A free level whose run fitted
                    # and failed on absolute, share or relative needs nothing: its pieces fail
                    # as the run did, or are watched anyway (relative).
                    st.loose.discard(price)
                    ladder = st.ladder.prices
                    i = bisect_left(ladder, price)
                    if i > 0:
                        near = ladder[i - 1]
                        if price - near < reach and near in members:
                            holder = owners.get(near)
                            if holder is None:
                                candidates.append(near)
                            else:
                                holder.regrow = True
                                self._mark(holder)
                    if new:
                        # Still in the book, below the wall size.
                        i += 1
                    if i < len(ladder):
                        near = ladder[i]
                        if near - price < reach and near in members:
                            holder = owners.get(near)
                            if holder is None:
                                candidates.append(near)
                            else:
                                holder.regrow = True
                                self._mark(holder)
                if owner is None:
                    continue
                flipped = True
            if not owner.dirty:
                owner.dirty = True
                self._dirty.append(owner)
            if flipped:
                owner.regrow = True
                if new == 0.0 and self._left_window(st, price):
                    owner.window_exit = True

    def _break_pieces(self, st: _Side, i: int, widened: set[float]) -> None:
        """The new wall level `prices[i]` joined runs into one too wide to fit: each piece
        beside it that fitted before (up to the next new level) breaks up, its free levels to
        be judged alone and its densities to be cut back to their anchors."""
        prices = st.ladder.prices
        members = st.members
        owner = st.owner
        tick: float = self.tick  # type: ignore[assignment]
        reach = 1.5 * tick
        spread = self.rules.cluster_range
        end = len(prices)
        for step in (-1, 1):
            k = i + step
            last = prices[i]
            piece: list[float] = []
            while 0 <= k < end:
                near = prices[k]
                if abs(near - last) > reach or near not in members or near in widened:
                    break
                if piece and abs(near - piece[0]) > spread * near + tick:
                    piece = []
                    break
                piece.append(near)
                last = near
                k += step
            if len(piece) > 1 and self._fits(min(piece), max(piece)):
                for near in piece:
                    holder = owner.get(near)
                    if holder is None:
                        st.candidates.append(near)
                    else:
                        holder.regrow = True
                        self._mark(holder)

    def _mark(self, tracked: _Tracked) -> None:
        if not tracked.dirty:
            tracked.dirty = True
            self._dirty.append(tracked)

    def _left_window(self, side: _Side, price: float) -> bool:
        """A delete beyond the new edge of a full depth window: the level scrolled out of view."""
        depth = self.book.depth
        prices = side.ladder.prices
        if not depth or len(prices) < depth:
            return False
        return price < prices[0] if side.is_bid else price > prices[-1]

    def _settle(self, ts: int) -> None:
        """After a message: update touched densities and judge candidates until nothing is left
        to do (a density cut back frees levels to judge, a judged level lets a density regrow),
        then check distances and confirmations."""
        bids = self._bid.ladder.prices
        asks = self._ask.ladder.prices
        if not bids or not asks:
            # Without a mid nothing can be judged; the next two-sided book judges afresh.
            for st in self._sides:
                st.candidates.clear()
                st.widened.clear()
                st.sweep_due = True
            return
        mid = (bids[-1] + asks[0]) * 0.5
        if self._dirty:
            self._refresh_dirty(ts)
        for st in self._sides:
            if st.sweep_due or not st.mid_low < mid < st.mid_high:
                self._sweep(st, mid, ts)
            else:
                prices = st.candidates
                waiting = st.share_waiting
                if waiting and -waiting[0][0] >= st.ladder.total:
                    prices = prices + self._let_through(st)
                if st.relative_watch:
                    prices = [*prices, *st.relative_watch]
                if prices:
                    st.candidates = []
                    self._judge_prices(st, prices, mid, ts)
            if st.widened:
                st.widened.clear()
        while True:
            while self._dirty or self._bid.candidates or self._ask.candidates:
                if self._dirty:
                    self._refresh_dirty(ts)
                for st in self._sides:
                    if st.candidates:
                        prices = st.candidates
                        st.candidates = []
                        self._judge_prices(st, prices, mid, ts)
            if not self.tracked or self._mid_low < mid < self._mid_high:
                break
            self._check_distance(mid, ts)
        if ts >= self._next_confirm:
            self._confirm(ts)

    def _refresh_dirty(self, ts: int) -> None:
        dirty = self._dirty
        self._dirty = []
        for tracked in dirty:
            tracked.dirty = False
            self._refresh(tracked, ts)

    def _refresh(self, tracked: _Tracked, ts: int) -> None:
        """Recompute a tracked density after some of its levels changed."""
        st = tracked.side
        members = st.members
        density = tracked.density
        if tracked.regrow:
            tracked.regrow = False
            if tracked.anchor not in members:
                alive = [p for p in tracked.members if p in members]
                if not alive:
                    self._lost(tracked, ts)
                    return
                tracked.anchor = max(alive, key=members.__getitem__)
            tracked.window_exit = False
            run = self._members_of(st, tracked)
            owner = st.owner
            for price in tracked.members:
                if owner.get(price) is tracked:
                    del owner[price]
                    if price in members and price not in run:
                        # Cut off from the cluster, it may stand on its own.
                        st.candidates.append(price)
            for price in run:
                owner[price] = tracked
            tracked.members = run
            density.levels = len(run)
            density.price = tracked.anchor
            density.price_low = run[0]
            density.price_high = run[-1]
            tracked.set_near(self.rules.test_distance)
            if len(run) == 1:
                tracked.weighted = run[0]
                self._keep_in_range(run[0])
        if density.levels == 1:
            size = members[tracked.members[0]]
        else:
            size = 0.0
            notional = 0.0
            for price in tracked.members:
                level = members[price]
                size += level
                notional += level * price
            tracked.weighted = notional / size
            self._keep_in_range(tracked.weighted)
        self._resize(tracked, size, ts)

    def _resize(self, tracked: _Tracked, size: float, ts: int) -> None:
        """A density's size is now `size`: peak, pulled, and a `changed` event if material."""
        density = tracked.density
        density.size = size
        density.last_seen = ts
        peak = density.peak_size
        if size > peak:
            density.peak_size = peak = size
        eaten = density.eaten
        pulled = peak - size - eaten
        if pulled < 0.0:
            pulled = 0.0
        density.pulled = pulled
        rules = self.rules
        spoof = is_spoof(density, rules.spoof_share, rules.change_step)
        reported = tracked.reported_size
        if spoof is not tracked.reported_spoof or (
            abs(size - reported) >= rules.change_step * reported
        ):
            self._report(tracked, CHANGED, ts)

    # ---- runs ----------------------------------------------------------------------------

    def _run_at(self, st: _Side, i: int) -> tuple[int, int, bool]:
        """The run through the wall level `prices[i]`: wall levels on neighbouring ticks, all of
        them whoever owns them, as (first index, last index, fits). It fits when its span is at
        most cluster_range_pct of its lowest price; the indices are only whole when it fits."""
        prices = st.ladder.prices
        members = st.members
        tick: float = self.tick  # type: ignore[assignment]
        reach = 1.5 * tick
        price = prices[i]
        spread = self.rules.cluster_range
        # Beyond this a run cannot fit, whatever its lowest price.
        cut = spread * price + tick
        low = i
        while low > 0:
            near = prices[low - 1]
            if prices[low] - near > reach or near not in members:
                break
            low -= 1
            if price - near > cut:
                return low, i, False
        high = i
        end = len(prices) - 1
        while high < end:
            near = prices[high + 1]
            if near - prices[high] > reach or near not in members:
                break
            high += 1
            if near - price > cut:
                return low, high, False
        return low, high, low == high or self._fits(prices[low], prices[high])

    def _fits(self, low: float, high: float) -> bool:
        """Levels from `low` to `high` span at most cluster_range_pct of `low` (in ticks)."""
        tick: float = self.tick  # type: ignore[assignment]
        return round((high - low) / tick) <= self.rules.cluster_range * low / tick + 1e-9

    def _members_of(self, st: _Side, tracked: _Tracked) -> list[float]:
        """A tracked density's levels: its anchor's run when that fits, up to the levels of any
        other density in it; its anchor alone when the run is too wide (a thick book)."""
        anchor = tracked.anchor
        if not self._clusters:
            return [anchor]
        prices = st.ladder.prices
        i = bisect_left(prices, anchor)
        low, high, fits = self._run_at(st, i)
        if not fits:
            st.loose.add(anchor)
            return [anchor]
        if low == high:
            return [anchor]
        owner = st.owner
        first = i
        while first > low and owner.get(prices[first - 1], tracked) is tracked:
            first -= 1
        last = i
        while last < high and owner.get(prices[last + 1], tracked) is tracked:
            last += 1
        return prices[first:last + 1]

    # ---- candidates ----------------------------------------------------------------------

    def _judge_prices(self, st: _Side, prices: list[float], mid: float, ts: int) -> None:
        seen: set[float] | None = None
        members = st.members
        owner = st.owner
        watch = st.relative_watch
        ladder = st.ladder.prices
        clusters = self._clusters
        reach = 1.5 * self.tick if clusters else 0.0  # type: ignore[operator]
        share = self.rules.share
        share_volume = share * st.ladder.total
        threshold = self.threshold
        reach_mid = self.rules.max_distance * mid
        waiting = st.share_waiting
        for price in prices:
            if seen is not None and price in seen:
                continue
            size = members.get(price)
            if size is None or price in owner:
                if watch:
                    watch.discard(price)
                continue
            if clusters:
                i = bisect_left(ladder, price)
                if (i > 0 and price - ladder[i - 1] < reach and ladder[i - 1] in members) or (
                    i + 1 < len(ladder) and ladder[i + 1] - price < reach
                    and ladder[i + 1] in members
                ):
                    low, high, fits = self._run_at(st, i)
                    if not fits:
                        st.loose.add(price)
                        if price in st.widened:
                            self._break_pieces(st, i, set(st.widened))
                    if fits:
                        run = ladder[low:high + 1]
                        if seen is None:
                            seen = set(run)
                        else:
                            seen.update(run)
                        held = False
                        for near in run:
                            holder = owner.get(near)
                            if holder is not None:
                                # Free levels in a run with a density join that density.
                                held = True
                                holder.regrow = True
                                if not holder.dirty:
                                    holder.dirty = True
                                    self._dirty.append(holder)
                        if not held:
                            self._judge(st, run, mid, ts)
                        continue
            # A level on its own: most fail the absolute or share criterion, cheaply.
            if size * price < threshold:
                if watch:
                    watch.discard(price)
            elif size < share_volume and -reach_mid <= price - mid <= reach_mid:
                if watch:
                    watch.discard(price)
                heappush(waiting, (-size / share, price))
            else:
                self._judge(st, [price], mid, ts)

    def _let_through(self, st: _Side) -> list[float]:
        """Candidates that failed on share and that the side's volume, now lower, lets pass;
        the waiting list is rebuilt by a sweep when stale entries pile up."""
        waiting = st.share_waiting
        total = st.ladder.total
        prices = []
        while waiting and -waiting[0][0] >= total:
            prices.append(heappop(waiting)[1])
        if len(waiting) > 2 * len(st.members) + 64:
            st.sweep_due = True
        return prices

    def _sweep(self, st: _Side, mid: float, ts: int) -> None:
        """Judge every untracked wall level again (mid moved, or the rules changed)."""
        st.sweep_due = False
        st.share_waiting.clear()
        st.mid_low = -_INF
        st.mid_high = _INF
        st.relative_watch.clear()
        st.far.clear()
        st.candidates.clear()
        owner = st.owner
        self._judge_prices(st, [p for p in st.members if p not in owner], mid, ts)

    def _judge(self, st: _Side, run: list[float], mid: float, ts: int) -> None:
        """The four criteria for a free candidate: one level, or a run that fits (ascending)."""
        rules = self.rules
        members = st.members
        watch = st.relative_watch
        if len(run) == 1:
            weighted = run[0]
            size = members[weighted]
            notional = size * weighted
        else:
            size = 0.0
            notional = 0.0
            for p in run:
                level = members[p]
                size += level
                notional += level * p
            weighted = notional / size
        if notional < self.threshold:
            if watch:
                watch.difference_update(run)
            return
        reach = rules.max_distance * mid
        if weighted - mid > reach or mid - weighted > reach:
            if watch:
                watch.difference_update(run)
            if len(run) > 1:
                st.far.update(run)
            if weighted < mid:
                st.mid_low = max(st.mid_low, weighted / (1.0 - rules.max_distance))
            else:
                st.mid_high = min(st.mid_high, weighted / (1.0 + rules.max_distance))
            return
        if size < rules.share * st.ladder.total:
            if watch:
                watch.difference_update(run)
            heappush(st.share_waiting, (-size / rules.share, run[0]))
            return
        if size < rules.factor * self._neighbour_mean(st, run, weighted):
            watch.update(run)
            return
        if watch:
            watch.difference_update(run)
        self._track(st, run, size, weighted, ts)

    def _neighbour_mean(self, st: _Side, run: list[float], center: float) -> float:
        """Mean size of the `relative_neighbors` levels nearest to `center` (the weighted price)
        outside the run, the lower price first of two equally far. Distances from one level are
        whole ticks: with a slack of half a tick, float noise (0.0999999 against 0.1000001) never
        breaks a tie. A cluster's weighted price lies off the grid, where ties do not arise."""
        ladder = st.ladder
        prices = ladder.prices
        size_at = ladder.size_at_index
        below = bisect_left(prices, run[0]) - 1
        above = bisect_right(prices, run[-1])
        end = len(prices)
        wanted = self.rules.neighbors
        slack = 0.5 * self.tick if len(run) == 1 and self.tick else 0.0
        count = 0
        total = 0.0
        while count < wanted:
            if below >= 0 and (
                above >= end or center - prices[below] <= prices[above] - center + slack
            ):
                total += size_at(below)
                below -= 1
            elif above < end:
                total += size_at(above)
                above += 1
            else:
                break
            count += 1
        return total / count if count else 0.0

    def _track(self, st: _Side, run: list[float], size: float, weighted: float, ts: int) -> None:
        anchor = max(run, key=st.members.__getitem__)
        density = Density(
            self.symbol, st.book_side, anchor, size, size, ts, ts, levels=len(run),
            id=self._next_id, price_low=run[0], price_high=run[-1], frozen=self._frozen,
        )
        self._next_id += 1
        tracked = _Tracked(
            st, anchor, run, density, weighted, self.last_cts, ts + self.rules.min_lifetime_ms,
            self.rules.test_distance,
        )
        for price in run:
            st.owner[price] = tracked
        self.tracked.append(tracked)
        self.revision += 1
        self._keep_in_range(weighted)
        self._untested.append(tracked)
        confirmed = self.rules.min_lifetime_ms <= 0 and not self._frozen
        if confirmed:
            density.confirmed_at = ts
        else:
            self._unconfirmed.append(tracked)
            self._schedule_confirm()
        self._report(tracked, APPEARED, ts)
        if confirmed:
            self._report(tracked, CONFIRMED, ts)

    # ---- lifecycle -----------------------------------------------------------------------

    def _check_distance(self, mid: float, ts: int) -> None:
        """Drop densities now farther than max_distance_pct from mid, and find how far mid
        may move before the next one would go."""
        distance = self.rules.max_distance
        reach = distance * mid
        leaving = [
            t for t in self.tracked
            if t.weighted - mid > reach or mid - t.weighted > reach
        ]
        for tracked in leaving:
            self._untrack(tracked, ts)
            self._emit_gone(tracked, ts, _left_outcome(tracked.density))
        self._mid_low = -_INF
        self._mid_high = _INF
        for tracked in self.tracked:
            self._keep_in_range(tracked.weighted)

    def _keep_in_range(self, price: float) -> None:
        """Narrow the band of mid within which a density at `price` stays in range."""
        distance = self.rules.max_distance
        low = price / (1.0 + distance)
        high = price / (1.0 - distance) if distance < 1.0 else _INF
        if low > self._mid_low:
            self._mid_low = low
        if high < self._mid_high:
            self._mid_high = high

    def _confirm(self, ts: int) -> None:
        """Confirm those that lived min_lifetime_s (the list is in order of `due`)."""
        waiting = self._unconfirmed
        count = 0
        for tracked in waiting:
            if tracked.due > ts:
                break
            tracked.density.confirmed_at = ts
            self._report(tracked, CONFIRMED, ts)
            count += 1
        if count:
            del waiting[:count]
            self.revision += 1
        self._schedule_confirm()

    def _schedule_confirm(self) -> None:
        """When the oldest unconfirmed density comes of age: never while frozen."""
        waiting = self._unconfirmed
        self._next_confirm = waiting[0].due if waiting and not self._frozen else _NEVER

    def _untrack(self, tracked: _Tracked, ts: int) -> None:
        owner = tracked.side.owner
        for price in tracked.members:
            if owner.get(price) is tracked:
                del owner[price]
        tracked.density.last_seen = ts
        self.tracked.remove(tracked)
        self.revision += 1
        if tracked in self._unconfirmed:
            self._unconfirmed.remove(tracked)
            self._schedule_confirm()
        if tracked in self._untested:
            self._untested.remove(tracked)

    def _lost(self, tracked: _Tracked, ts: int) -> None:
        """Its last wall level went: scrolled out of the window, or lost (outcome after a wait
        for late trades)."""
        self._untrack(tracked, ts)
        density = tracked.density
        if tracked.window_exit:
            # Out of view, not gone: its last known size stands.
            self._emit_gone(tracked, ts, _left_outcome(density))
            return
        size_of = tracked.side.ladder.size_of
        density.size = sum(size_of(p) for p in tracked.members)
        tracked.left_alone = not tracked.near_low <= self.last_price <= tracked.near_high
        tracked.gone_cts = self.last_cts
        self._closing.append((ts + self.rules.match_ms, ts, tracked))
        self._closing_prices.update(tracked.members)

    def _close(self, now: int | None) -> None:
        """Give the densities whose wait is over (all of them when `now` is None) an outcome."""
        closing = self._closing
        count = 0
        for due, gone_ts, tracked in closing:
            if now is not None and due > now:
                break
            count += 1
            density = tracked.density
            pulled = density.peak_size - density.size - density.eaten
            density.pulled = pulled if pulled > 0.0 else 0.0
            decided = now if now is not None else max(gone_ts, self.last_ts)
            self._emit_gone(tracked, decided, self._loss_outcome(tracked))
        del closing[:count]
        self._closing_prices = {p for _, _, t in closing for p in t.members}

    def _loss_outcome(self, tracked: _Tracked) -> DensityOutcome:
        density = tracked.density
        lost = density.eaten + density.pulled
        if lost <= 0.0:
            return DensityOutcome.FADED
        if density.eaten >= density.pulled:
            return DensityOutcome.EATEN
        if density.tested_at is not None and tracked.left_alone:
            return DensityOutcome.HELD
        if density.pulled > self.rules.spoof_share * lost:
            return DensityOutcome.SPOOF
        return DensityOutcome.PULLED

    def _emit_gone(self, tracked: _Tracked, ts: int, outcome: DensityOutcome) -> None:
        # No copy: a density that went is never touched again.
        self.events.append(DensityEvent(GONE, tracked.density, ts, outcome))
        st = tracked.side
        for price in tracked.members:
            if price in st.members and price not in st.owner:
                st.candidates.append(price)

    def _report(self, tracked: _Tracked, kind: DensityEventKind, ts: int) -> None:
        density = tracked.density
        tracked.reported_size = density.size
        tracked.reported_spoof = self.is_spoof(density)
        self.events.append(DensityEvent(kind, density.copy(), ts))

    def finish(self) -> None:
        """End of input: give every density still waiting for late trades its outcome."""
        if self._closing:
            self._close(None)

    # ---- trades --------------------------------------------------------------------------

    def on_prints(self, prints: list[TradePrint], ts: int) -> None:
        """Count trades against the densities they hit and note which ones price has tested."""
        self.last_price = prints[-1].price
        self.last_ts = ts
        if self.tracked:
            bid_owner = self._bid_owner
            ask_owner = self._ask_owner
            for trade in prints:
                tracked = (ask_owner if trade.taker is _BUY_TAKER else bid_owner).get(trade.price)
                if tracked is not None and trade.ts > tracked.since_cts:
                    density = tracked.density
                    density.eaten += trade.size
                    pulled = density.peak_size - density.size - density.eaten
                    density.pulled = pulled if pulled > 0.0 else 0.0
            if self._untested:
                self._test(prints)
            if ts >= self._next_confirm:
                self._confirm(ts)
        if self._closing:
            closing_prices = self._closing_prices
            for trade in prints:
                if trade.price in closing_prices:
                    self._late_print(trade)
            if self._closing[0][0] <= ts:
                self._close(ts)

    def _test(self, prints: list[TradePrint]) -> None:
        """Mark the untested densities that a trade came near (the first such trade's time)."""
        if len(prints) == 1:
            low = high = prints[0].price
        else:
            traded = [trade.price for trade in prints]
            low = min(traded)
            high = max(traded)
        tested = False
        for candidate in self._untested:
            if candidate.near_low <= high and low <= candidate.near_high:
                for trade in prints:
                    if candidate.near_low <= trade.price <= candidate.near_high:
                        candidate.density.tested_at = trade.ts
                        tested = True
                        break
        if tested:
            self._untested = [c for c in self._untested if c.density.tested_at is None]

    def _late_print(self, trade: TradePrint) -> None:
        """A trade the book showed before it arrived still counts for a density that went."""
        # A taker buy lifts asks, a taker sell hits bids.
        hits_bids = trade.taker is not _BUY_TAKER
        for _, _, tracked in self._closing:
            if (
                hits_bids is tracked.side.is_bid
                and tracked.since_cts < trade.ts <= tracked.gone_cts
                and trade.price in tracked.members
            ):
                tracked.density.eaten += trade.size
