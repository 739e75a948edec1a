"""Paper fills on the replay's look-ahead book: what they took stays taken until the recording
changes that level (real XRPUSDT ob500 data)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.model import OrderRequest, OrderType, Side
from densitytui.venues.paper import PaperBroker
from densitytui.venues.replay import ReplayMarketData

SYMBOL = "XRPUSDT"


def test_taken_levels_stay_taken_until_the_recording_changes_them(xrp_file: Path) -> None:
    messages = [json.loads(line) for line in xrp_file.read_text().splitlines() if line.strip()]
    asks = sorted((float(p), float(s)) for p, s in messages[0]["data"]["a"])
    (best, best_size), (second, second_size) = asks[0], asks[1]
    small = 3  # 3 XRP at about 2 USDT: above the 5 USDT minimum notional
    assert second_size >= small
    # The first later message that gives the best ask a new size (independently of the code).
    changed_at = next(
        n for n, m in enumerate(messages[1:], start=1)
        if any(float(p) == best and float(s) >= small for p, s in m["data"]["a"])
    )

    async def scenario() -> tuple[float, float, float]:
        market = MarketEngine(Config())
        replay = ReplayMarketData([xrp_file], market.book, latency_ms=0)
        broker = PaperBroker(
            await replay.instruments(), replay.fill_book, replay.now_ms,
            starting_balance=1e9,
        )
        frames = replay.messages()
        market.on_frame(await anext(frames))

        def buy(link: str, qty: float) -> OrderRequest:
            return OrderRequest(link, SYMBOL, Side.BUY, qty, OrderType.MARKET)

        whole = await broker.place_order(buy("a1", best_size))
        after = await broker.place_order(buy("a2", small))
        for _ in range(changed_at):
            market.on_frame(await anext(frames))
        given_back = await broker.place_order(buy("a3", small))
        await frames.aclose()
        return whole.avg_price, after.avg_price, given_back.avg_price

    whole, after, given_back = asyncio.run(scenario())
    # Averages of one price over whole qty steps: equal to that price up to float noise.
    assert whole == pytest.approx(best, abs=1e-12)
    assert after == pytest.approx(second, abs=1e-12)
    assert given_back == pytest.approx(best, abs=1e-12)
