-- The first schema: everything the service stores.
-- Money and prices are numeric (exact); bar OHLCV are double precision because bars move through
-- numpy and Rust as floats. Every timestamp is timestamptz (stored as UTC).
-- Never edit this file once applied anywhere: put changes in a new numbered migration.

CREATE TABLE contracts (
    id          text PRIMARY KEY,              -- broker contract id, e.g. CON.F.US.MNQ.Z25
    name        text NOT NULL,                 -- exchange short code, e.g. MNQZ5
    symbol_id   text NOT NULL,                 -- e.g. F.US.MNQ
    description text NOT NULL DEFAULT '',
    tick_size   numeric NOT NULL CHECK (tick_size > 0),
    tick_value  numeric NOT NULL CHECK (tick_value > 0),
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contracts_symbol_id ON contracts (symbol_id);

CREATE TABLE bars (
    contract_id text NOT NULL,
    timeframe   text NOT NULL,                 -- "1m", "5m", "1d", ...
    start       timestamptz NOT NULL,          -- the bar is labelled by its open time
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (contract_id, timeframe, start)
);

-- One row per order we know of. A row we place starts as status 'intent' (written before the order
-- is sent, keyed by our custom_tag); the broker id is attached when the broker accepts it. Orders
-- placed elsewhere (the TopstepX UI) arrive from the user hub with no tag.
CREATE TABLE orders (
    id               bigserial PRIMARY KEY,
    custom_tag       text UNIQUE,
    broker_order_id  bigint UNIQUE,
    account_id       bigint NOT NULL,
    contract_id      text NOT NULL,
    side             text NOT NULL CHECK (side IN ('buy', 'sell')),
    type             text NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop',
                                                   'join_bid', 'join_ask')),
    size             integer NOT NULL CHECK (size > 0),
    limit_price      numeric,
    stop_price       numeric,
    trail_price      numeric,
    stop_loss_ticks  integer,
    take_profit_ticks integer,
    status           text NOT NULL CHECK (status IN ('intent', 'pending', 'open', 'suspended', 'pending_cancel',
                                                     'filled', 'cancelled', 'expired', 'rejected')),
    fill_volume      integer NOT NULL DEFAULT 0,
    filled_price     numeric,
    parent_id        bigint,                   -- broker id of the bracket parent
    linked_id        bigint,                   -- broker id of the OCO sibling
    reason           text NOT NULL DEFAULT '',
    strategy         text,
    error            text,                     -- the broker's or our refusal message
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_working ON orders (account_id, status)
    WHERE status IN ('intent', 'pending', 'open', 'suspended', 'pending_cancel');
CREATE INDEX orders_strategy ON orders (strategy, created_at);

-- order_intents: the orders written but not (yet) acknowledged by the broker.
CREATE VIEW order_intents AS SELECT * FROM orders WHERE status = 'intent';

CREATE TABLE order_status_history (
    id       bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status   text NOT NULL,
    detail   text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order ON order_status_history (order_id, id);

CREATE TABLE fills (
    broker_trade_id bigint PRIMARY KEY,
    broker_order_id bigint NOT NULL,
    account_id      bigint NOT NULL,
    contract_id     text NOT NULL,
    side            text NOT NULL CHECK (side IN ('buy', 'sell')),
    size            integer NOT NULL CHECK (size > 0),
    price           numeric NOT NULL,
    fees            numeric NOT NULL DEFAULT 0,
    pnl             numeric,                   -- null on opening fills
    voided          boolean NOT NULL DEFAULT false,
    ts_event        timestamptz NOT NULL,
    ts_init         timestamptz
);
CREATE INDEX fills_account_time ON fills (account_id, ts_event);
CREATE INDEX fills_order ON fills (broker_order_id);

CREATE TABLE position_snapshots (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL,
    contract_id   text NOT NULL,
    side          text CHECK (side IN ('long', 'short')),  -- null when flat
    size          integer NOT NULL CHECK (size >= 0),
    average_price numeric,
    opened_at     timestamptz,
    broker_position_id bigint,
    at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((size = 0) = (side IS NULL))
);
CREATE INDEX position_snapshots_latest ON position_snapshots (account_id, contract_id, at DESC, id DESC);

CREATE TABLE notification_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    channel         text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    dedupe_key      text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),  -- retry backoff: not claimed before this
    locked_until    timestamptz                          -- a claim's lease: another deliverer skips it until then
);
CREATE INDEX notification_outbox_pending ON notification_outbox (id) WHERE status = 'pending';

CREATE TABLE latency_samples (
    id        bigserial PRIMARY KEY,
    operation text NOT NULL,
    path      text NOT NULL CHECK (path IN ('rust', 'python')),
    nanos     bigint NOT NULL CHECK (nanos >= 0),
    at        timestamptz NOT NULL,
    ok        boolean NOT NULL DEFAULT true,
    extra     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX latency_samples_op_time ON latency_samples (operation, path, at);

CREATE TABLE job_runs (
    id            bigserial PRIMARY KEY,
    job           text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    outcome       text CHECK (outcome IN ('ok', 'failed', 'skipped')),
    detail        text NOT NULL DEFAULT '',
    UNIQUE (job, scheduled_for)                -- a run is claimed once, even by two processes
);

CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    user_id   bigint,
    user_name text NOT NULL DEFAULT '',
    command   text NOT NULL,
    arguments jsonb NOT NULL DEFAULT '{}',
    allowed   boolean NOT NULL,
    reason    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE strategy_state (
    strategy    text NOT NULL,
    trading_day date NOT NULL,
    symbol      text NOT NULL,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strategy, trading_day, symbol)
);

CREATE TABLE risk_state (
    account_id         bigint PRIMARY KEY,
    kill_switch        text NOT NULL DEFAULT 'none' CHECK (kill_switch IN ('none', 'halted', 'reduce_only')),
    reason             text NOT NULL DEFAULT '',
    day                date,
    day_realized_pnl   numeric NOT NULL DEFAULT 0,
    high_water_balance numeric,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
