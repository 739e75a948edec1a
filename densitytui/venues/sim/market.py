"""The simulated market: every symbol stepped together in virtual time, frames in time order.

Pure and synchronous (no asyncio, no wall clock): `step()` advances 20 ms of virtual time and
returns the Bybit v5 public frames of the subscribed symbols, sorted by timestamp. A symbol that is
subscribed gets a fresh `orderbook.50` snapshot and `tickers` snapshot at the next step; symbols
keep trading while nobody watches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from densitytui.model import Instrument, Kline, Ticker
from densitytui.venues.sim.history import MINUTE_MS
from densitytui.venues.sim.instruments import CATALOGUE, SPECS, SymbolSpec
from densitytui.venues.sim.symbol import STEP_MS, SymbolSim

# 2024-12-02 00:00:00 UTC: recordings made from the same seed are identical whenever they are made.
SIM_EPOCH_MS = 1_733_097_600_000


class UnknownSymbol(ValueError):
    """A symbol the simulated market does not list."""

    def __init__(self, symbols: Iterable[str]) -> None:
        known = ", ".join(spec.symbol for spec in CATALOGUE)
        super().__init__(f"not simulated: {', '.join(symbols)} (known: {known})")


class SimMarket:
    """A dozen simulated contracts (or the chosen subset), deterministic from `seed`."""

    def __init__(
        self,
        seed: int,
        symbols: Sequence[str] | None = None,
        start_ms: int = SIM_EPOCH_MS,
        catalogue: Sequence[SymbolSpec] = CATALOGUE,
    ) -> None:
        """`catalogue` replaces the dozen contracts (the soak bench lists forty)."""
        specs = SPECS if catalogue is CATALOGUE else {spec.symbol: spec for spec in catalogue}
        names = list(symbols) if symbols else list(specs)
        unknown = [name for name in names if name not in specs]
        if unknown:
            raise UnknownSymbol(unknown)
        self.seed = seed
        # On a whole minute: the 24 h history and its stats step on minute boundaries, so a
        # start elsewhere in the minute would change the 24 h change, the trends and every
        # signal after them; aligned, the same seed gives the same market from any start.
        self.start_ms = start_ms - start_ms % MINUTE_MS
        self.now_ms = self.start_ms
        self._sims = {
            name: SymbolSim(specs[name], seed, self.start_ms, order)
            for order, name in enumerate(dict.fromkeys(names))
        }

    @property
    def symbols(self) -> list[str]:
        return list(self._sims)

    def sim(self, symbol: str) -> SymbolSim:
        found = self._sims.get(symbol)
        if found is None:
            raise UnknownSymbol([symbol])
        return found

    def instruments(self) -> list[Instrument]:
        return [sim.spec.instrument() for sim in self._sims.values()]

    def tickers(self) -> list[Ticker]:
        return [sim.ticker() for sim in self._sims.values()]

    def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        return self.sim(symbol).klines(interval_min, limit)

    def subscribe(self, symbols: Iterable[str]) -> None:
        """Start streaming these symbols; each begins with snapshots at the next step."""
        chosen = [self.sim(symbol) for symbol in symbols]
        for sim in chosen:
            if not sim.subscribed:
                sim.subscribed = True
                sim.needs_snapshot = True

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        for sim in [self.sim(symbol) for symbol in symbols]:
            sim.subscribed = False
            sim.needs_snapshot = False
            sim.bids.unpublish()
            sim.asks.unpublish()

    @property
    def subscribed(self) -> list[str]:
        return [name for name, sim in self._sims.items() if sim.subscribed]

    def step(self) -> list[bytes]:
        """Advance 20 ms; the frames of subscribed symbols in time order."""
        out: list[tuple[int, int, int, bytes]] = []
        for sim in self._sims.values():
            sim.step(out)
        self.now_ms += STEP_MS
        if len(out) > 1:
            out.sort(key=_frame_order)
        return [frame for _, _, _, frame in out]

    def run(self, duration_ms: int) -> Iterable[bytes]:
        """Frames of the next `duration_ms` of virtual time, as fast as they can be made."""
        end = self.now_ms + duration_ms
        while self.now_ms < end:
            yield from self.step()


def _frame_order(item: tuple[int, int, int, bytes]) -> tuple[int, int, int]:
    return item[0], item[1], item[2]
