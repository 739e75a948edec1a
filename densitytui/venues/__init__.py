"""Venues: one `Exchange` interface over Bybit, the paper broker, the simulated market and replays."""
