-- Several accounts in one process (issue 12): what was kept once per process is kept per account.
-- account_id 0 is the scope of a process that trades one account (every row written before this
-- migration, and a single-account `tradebot run`); a multi-account process scopes each engine's rows
-- by the broker's account id. Orders' customTags are unique per account (the broker's own rule): two
-- accounts running one strategy derive the same deterministic tag.
ALTER TABLE job_runs ADD COLUMN account_id bigint NOT NULL DEFAULT 0;
ALTER TABLE job_runs DROP CONSTRAINT job_runs_job_scheduled_for_key;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_account_job_at_key UNIQUE (account_id, job, scheduled_for);

ALTER TABLE strategy_state ADD COLUMN account_id bigint NOT NULL DEFAULT 0;
ALTER TABLE strategy_state DROP CONSTRAINT strategy_state_pkey;
ALTER TABLE strategy_state ADD PRIMARY KEY (account_id, strategy, trading_day, symbol);

ALTER TABLE strategy_control ADD COLUMN account_id bigint NOT NULL DEFAULT 0;
ALTER TABLE strategy_control DROP CONSTRAINT strategy_control_pkey;
ALTER TABLE strategy_control ADD PRIMARY KEY (account_id, strategy);

ALTER TABLE orders DROP CONSTRAINT orders_custom_tag_key;
ALTER TABLE orders ADD CONSTRAINT orders_account_custom_tag_key UNIQUE (account_id, custom_tag);
