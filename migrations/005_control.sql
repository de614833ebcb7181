-- Control without Discord (issue 11): `tradebot status|flatten|halt|resume` reach the running instance
-- through the store.
--
-- control_commands: the CLI writes one row per request; the instance that holds the account (the lease
-- holder) takes it once (picked_at set atomically), carries it out through trading/services (the calls
-- Discord makes) and writes the outcome. A request nobody took before `expires_at` is never carried out
-- (a flatten asked for ten minutes ago by a CLI that gave up must not happen now).
CREATE TABLE control_commands (
    id           bigserial PRIMARY KEY,
    account_id   bigint      NOT NULL,
    verb         text        NOT NULL,
    args         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    requested_by text        NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    picked_at    timestamptz,
    picked_by    text,
    done_at      timestamptz,
    ok           boolean,
    result       jsonb
);

-- The requests an instance looks for on every poll.
CREATE INDEX control_commands_waiting ON control_commands (account_id, id) WHERE picked_at IS NULL;

-- engine_instances: what each running instance publishes every few seconds (the active one its
-- status: hubs, positions, orders, risk headroom, next jobs; a standby that it waits). `seen_at` is the
-- database's clock, so the age of a row is measured on one clock whatever clock the engine runs on.
-- A row not refreshed for a while belongs to an instance that is gone.
CREATE TABLE engine_instances (
    instance   text PRIMARY KEY,
    account_id bigint      NOT NULL,
    role       text        NOT NULL CHECK (role IN ('active', 'standby')),
    mode       text        NOT NULL,
    host       text        NOT NULL,
    pid        integer     NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    status     jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX engine_instances_account ON engine_instances (account_id, seen_at DESC);
