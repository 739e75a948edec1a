"""Backtests: the trading engine in auto mode on recorded data, its trades read back and judged."""
