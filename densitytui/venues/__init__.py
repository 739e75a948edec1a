"""Venues: one `Exchange` interface over Bybit, paper broker, simulated market and replays."""
