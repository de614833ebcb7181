-- Per-strategy on/off switch set by an operator (/strategy start | stop), overriding the settings'
-- `enabled` for the running engine and surviving a restart.
CREATE TABLE strategy_control (
    strategy    text PRIMARY KEY,
    enabled     boolean NOT NULL,
    changed_by  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
