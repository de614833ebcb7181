-- Per-component routes, their audit, and the shadow runs' mismatches (issue 16).
--
-- component_routes: an admin's choice for a component (executor, market_stream, user_stream, bars,
-- strategy): rust, python or shadow, and for the executor the share of orders sent the Rust way. A row
-- here wins over `[routing]` in settings; no row: the settings' default.
CREATE TABLE component_routes (
    component  text        PRIMARY KEY,
    mode       text        NOT NULL CHECK (mode IN ('rust', 'python', 'shadow')),
    rust_share integer     CHECK (rust_share BETWEEN 0 AND 100),
    changed_by text        NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- route_changes: every change of where a component runs: an admin's (old -> new), a breaker's trip
-- (changed_by 'breaker', with why) and a reset back.
CREATE TABLE route_changes (
    id         bigserial   PRIMARY KEY,
    component  text        NOT NULL,
    old_route  text        NOT NULL,
    new_route  text        NOT NULL,
    changed_by text        NOT NULL DEFAULT '',
    reason     text        NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX route_changes_recent ON route_changes (changed_at DESC);

-- parity_mismatches: a shadow run's disagreement, with both outputs. `kind` groups them (bars.close,
-- bars.count, ...): one alert per kind.
CREATE TABLE parity_mismatches (
    id          bigserial   PRIMARY KEY,
    component   text        NOT NULL,
    kind        text        NOT NULL,
    subject     text        NOT NULL DEFAULT '',
    python      jsonb       NOT NULL,
    rust        jsonb       NOT NULL,
    observed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parity_mismatches_kind ON parity_mismatches (component, kind);

-- parity_checks: how many comparisons each shadow run made (the denominator of /stats parity).
CREATE TABLE parity_checks (
    component  text        PRIMARY KEY,
    compared   bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
