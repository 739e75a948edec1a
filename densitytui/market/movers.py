"""Movers per DESIGN.md §3: the strongest gainers and losers among tradable USDT perpetuals.

A pure function of instruments and tickers, so the engine can refresh it every
`movers.refresh_s` and tests can feed it any set. Ties break on the symbol name so the choice
is the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densitytui.model import Instrument, Ticker

if TYPE_CHECKING:
    from densitytui.config import MoversSection


@dataclass(frozen=True, slots=True)
class Movers:
    """Gainers best first, losers worst first; a symbol is never in both."""

    gainers: tuple[Ticker, ...]
    losers: tuple[Ticker, ...]

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(t.symbol for t in self.gainers) | {t.symbol for t in self.losers}


@dataclass(frozen=True, slots=True)
class MoversDiff:
    """What to subscribe to and what to drop; symbols with a position are never dropped."""

    added: frozenset[str]
    removed: frozenset[str]
    kept_for_positions: frozenset[str]


def select_movers(
    instruments: Iterable[Instrument], tickers: Iterable[Ticker], rules: MoversSection,
) -> Movers:
    """Top `top_gainers` and bottom `top_losers` by 24 h change among tradable USDT perpetuals
    with at least `min_turnover_usdt` of 24 h turnover."""
    tradable = {i.symbol for i in instruments if i.tradable}
    eligible = [
        t for t in tickers if t.symbol in tradable and t.turnover_24h >= rules.min_turnover_usdt
    ]
    by_change = sorted(eligible, key=lambda t: (-t.change_24h_pct, t.symbol))
    gainers = tuple(by_change[: rules.top_gainers])
    chosen = {t.symbol for t in gainers}
    losers = tuple(
        t for t in sorted(eligible, key=lambda t: (t.change_24h_pct, t.symbol))
        if t.symbol not in chosen
    )[: rules.top_losers]
    return Movers(gainers, losers)


def diff_movers(current: Set[str], movers: Set[str], held: Set[str]) -> MoversDiff:
    """Compare the watched symbols with new movers; `held` are symbols with an open position."""
    added = frozenset(movers - current)
    leaving = current - movers
    return MoversDiff(
        added=added,
        removed=frozenset(leaving - held),
        kept_for_positions=frozenset(leaving & held),
    )
