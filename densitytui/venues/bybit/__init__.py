"""Bybit v5 venues: REST through pybit in worker threads, streams through `websockets`."""

from densitytui.venues.bybit.exchange import BybitExchange
from densitytui.venues.bybit.private import PrivateStream
from densitytui.venues.bybit.rest import RestClient
from densitytui.venues.bybit.streams import BybitMarketData

__all__ = ["BybitExchange", "BybitMarketData", "PrivateStream", "RestClient"]
