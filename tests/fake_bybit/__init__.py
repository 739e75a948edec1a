"""A local Bybit v5 exchange for tests (never imported by densitytui)."""

from .server import FakeBybit, Faults

__all__ = ["FakeBybit", "Faults"]
