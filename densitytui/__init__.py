"""densitytui: trade Bybit USDT perpetuals on order-book densities, from the terminal."""

__version__ = "0.1.0"
