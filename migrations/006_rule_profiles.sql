-- Account rule profiles (issue 11): the firm's Maximum Loss Limit trails the END-OF-DAY balance high
-- and locks; the scaling plan and the consistency target read the finished days.
--
-- risk_state.high_water_balance is from now on the end-of-day balance high (raised only at the 18:00 ET
-- trading-day roll). New columns: the profile the numbers belong to and since when (a change of profile
-- starts its numbers afresh), the starting balance risk first saw (profiles that do not publish one),
-- the last realized balance seen (the finished day's end balance at the roll), and whether the profit
-- target was reached (its reduce-only trip is not repeated after a trader resets it).
ALTER TABLE risk_state
    ADD COLUMN profile       text    NOT NULL DEFAULT 'custom',
    ADD COLUMN profile_since date,
    ADD COLUMN start_balance numeric,
    ADD COLUMN last_balance  numeric,
    ADD COLUMN goal_met      boolean NOT NULL DEFAULT false;

-- One row per finished trading day (the futures day ending at the 18:00 ET reopen).
CREATE TABLE risk_days (
    account_id   bigint      NOT NULL,
    trading_date date        NOT NULL,
    realized_pnl numeric     NOT NULL,
    end_balance  numeric     NOT NULL,
    profile      text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, trading_date)
);
