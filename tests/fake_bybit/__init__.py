"""A local Bybit v5 exchange for tests (never imported by densitytui).

    async with FakeBybit(["BTCUSDT", "ETHUSDT"], api_key="k", api_secret="s") as fake:
        fake.rest_url, fake.public_ws_url, fake.private_ws_url

Point a config's `[bybit]` endpoints at those URLs (testnet_* for venue `testnet`, mainnet_* for
`paper`) and put the key and secret in BYBIT_API_KEY/BYBIT_API_SECRET. `fake.faults` switches
misbehaviour on (see `Faults`); `fake.drop_public()` and `fake.drop_private()` cut connections;
`fake.push_private(topic, data)` sends any private message; `fake.hold_orders()` keeps order
requests waiting until `fake.release_orders()`; `fake.orders_received`,
`fake.requests`, `fake.books` and `fake.broker` (the paper broker behind it) show what happened.
"""

from .server import FakeBybit, Faults

__all__ = ["FakeBybit", "Faults"]
