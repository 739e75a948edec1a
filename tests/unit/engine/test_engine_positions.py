"""Open trades: exit fills summed, PnL on both legs' fees, orderLinkIds."""

from __future__ import annotations

import pytest

from densitytui.engine.execution import LINK_ID_MAX, LinkIds
from densitytui.engine.positions import OpenTrade
from densitytui.model import Fill, Position, Side


def trade(side: Side = Side.BUY, qty: float = 2.0, entry: float = 100.0) -> OpenTrade:
    position = Position("XRPUSDT", side, qty, entry, 0, "sim", stop_loss=99.0, id=7)
    return OpenTrade(position, entry_link_id="p-e1", entry_fee=0.11)


def fill(side: Side, price: float, qty: float, fee: float, link: str = "p-x2") -> Fill:
    return Fill(f"x{price}{qty}", link, "XRPUSDT", side, price, qty, fee, 1)


def test_a_long_closed_in_two_fills() -> None:
    t = trade()
    assert t.add_exit_fill(fill(Side.BUY, 100.0, 2.0, 0.11, "p-e1")) is False
    assert t.add_exit_fill(fill(Side.SELL, 101.0, 1.5, 0.0833)) is True
    assert t.add_exit_fill(fill(Side.SELL, 100.6, 0.5, 0.0277)) is True
    exit_price, pnl, fees = t.settle(fallback_exit_price=0.0)
    assert exit_price == pytest.approx((101.0 * 1.5 + 100.6 * 0.5) / 2)
    assert fees == pytest.approx(0.11 + 0.0833 + 0.0277)
    assert pnl == pytest.approx((1.5 * 1.0 + 0.5 * 0.6) - fees)


def test_a_short_with_unseen_exit_uses_the_close_order_for_the_rest() -> None:
    t = trade(Side.SELL)
    t.add_exit_fill(fill(Side.BUY, 99.0, 1.0, 0.05))
    exit_price, pnl, fees = t.settle(fallback_exit_price=98.0, fallback_fee=0.1)
    assert exit_price == pytest.approx(98.5)
    assert fees == pytest.approx(0.11 + 0.05 + 0.05)
    assert pnl == pytest.approx((100.0 - 98.5) * 2.0 - fees)


def test_link_ids_are_unique_short_and_refuse_a_bad_prefix() -> None:
    ids = LinkIds("dt0123abcd")
    made = [ids.next("e") for _ in range(1000)] + [ids.next("x")]
    assert len(set(made)) == len(made)
    assert all(len(i) <= LINK_ID_MAX and i.startswith("dt0123abcd-") for i in made)
    for bad in ("", "has space", "x" * 25, "semi;colon"):
        with pytest.raises(ValueError, match="prefix"):
            LinkIds(bad)
