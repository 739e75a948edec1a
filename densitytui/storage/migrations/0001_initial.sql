-- The first schema. Placeholders in braces are filled per backend (see migrations/__init__.py):
--   {id}         an increasing integer primary key
--   {series_id}  an increasing integer id that TimescaleDB can live with: on PostgreSQL it is not
--                a primary key, because every unique key of a hypertable must include its time
--   {bigint} {float} {bool} {json}   column types
-- Times are integer milliseconds since the epoch, UTC, as in every Bybit message.

CREATE TABLE signals (
    id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    kind TEXT NOT NULL,
    side TEXT NOT NULL,
    entry_price {float} NOT NULL,
    stop_loss {float} NOT NULL,
    density_side TEXT NOT NULL,
    density_price {float} NOT NULL,
    created_at {bigint} NOT NULL,
    ttl_ms {bigint} NOT NULL,
    reasons {json} NOT NULL,
    new_territory {bool} NOT NULL
);
CREATE INDEX signals_created_at ON signals (created_at);

CREATE TABLE orders (
    order_link_id TEXT PRIMARY KEY,
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty {float} NOT NULL,
    order_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at {bigint} NOT NULL,
    order_id TEXT NOT NULL,
    price {float},
    stop_loss {float},
    reduce_only {bool} NOT NULL,
    filled_qty {float} NOT NULL,
    avg_price {float} NOT NULL,
    fee {float} NOT NULL,
    reject_code {bigint},
    reject_reason TEXT NOT NULL,
    updated_at {bigint} NOT NULL
);
CREATE INDEX orders_status ON orders (status, created_at);

-- No foreign key to orders: a stop-loss triggered by the exchange fills an order we never placed.
CREATE TABLE fills (
    exec_id TEXT PRIMARY KEY,
    order_link_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    price {float} NOT NULL,
    qty {float} NOT NULL,
    fee {float} NOT NULL,
    ts {bigint} NOT NULL,
    is_maker {bool} NOT NULL
);
CREATE INDEX fills_order_link_id ON fills (order_link_id);
CREATE INDEX fills_ts ON fills (ts);

CREATE TABLE positions (
    id {id},
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty {float} NOT NULL,
    entry_price {float} NOT NULL,
    stop_loss {float},
    take_profit {float},
    leverage {float} NOT NULL,
    mark_price {float} NOT NULL,
    unrealized_pnl {float} NOT NULL,
    realized_pnl {float} NOT NULL,
    fees {float} NOT NULL,
    opened_at {bigint} NOT NULL,
    closed_at {bigint},
    exit_price {float},
    exit_reason TEXT NOT NULL,
    signal_id TEXT NOT NULL
);
CREATE INDEX positions_open ON positions (venue, opened_at) WHERE closed_at IS NULL;
CREATE INDEX positions_closed_at ON positions (closed_at);

CREATE TABLE position_events (
    id {id},
    position_id {bigint} NOT NULL REFERENCES positions (id),
    ts {bigint} NOT NULL,
    kind TEXT NOT NULL,
    old_value {float},
    new_value {float},
    note TEXT NOT NULL
);
CREATE INDEX position_events_position ON position_events (position_id, ts);

CREATE TABLE densities (
    id {series_id},
    ts {bigint} NOT NULL,
    kind TEXT NOT NULL,
    density_id {bigint} NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    price {float} NOT NULL,
    size {float} NOT NULL,
    peak_size {float} NOT NULL,
    erosion {float} NOT NULL,
    eaten {float} NOT NULL,
    pulled {float} NOT NULL,
    spoof {bool} NOT NULL,
    outcome TEXT,
    first_seen {bigint} NOT NULL,
    last_seen {bigint} NOT NULL,
    confirmed_at {bigint},
    tested_at {bigint},
    levels {bigint} NOT NULL
);
CREATE INDEX densities_symbol_ts ON densities (symbol, ts);
CREATE INDEX densities_ts ON densities (ts);

CREATE TABLE events (
    id {id},
    ts {bigint} NOT NULL,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    message TEXT NOT NULL,
    data {json} NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_kind_ts ON events (kind, ts);

CREATE TABLE market_stats (
    symbol TEXT NOT NULL,
    ts {bigint} NOT NULL,
    last_price {float} NOT NULL,
    change_24h_pct {float} NOT NULL,
    turnover_24h {float} NOT NULL,
    volume_24h {float} NOT NULL,
    trend TEXT NOT NULL,
    book_pressure {float} NOT NULL,
    PRIMARY KEY (symbol, ts)
);
CREATE INDEX market_stats_ts ON market_stats (ts);

CREATE TABLE coin_parameters (
    symbol TEXT PRIMARY KEY,
    tick_size {float} NOT NULL,
    qty_step {float} NOT NULL,
    min_qty {float} NOT NULL,
    min_notional {float} NOT NULL,
    max_market_qty {float} NOT NULL,
    status TEXT NOT NULL,
    contract_type TEXT NOT NULL,
    settle_coin TEXT NOT NULL,
    max_leverage {float} NOT NULL,
    min_density_notional_usdt {float} NOT NULL,
    thresholds {json} NOT NULL,
    updated_at {bigint} NOT NULL
);

CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value {json} NOT NULL,
    updated_at {bigint} NOT NULL
);
