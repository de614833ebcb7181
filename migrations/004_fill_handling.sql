-- A fill is handled once the engine has told its strategy, carried out what the strategy asked (the
-- opposite entry's cancel, a bracket change) and saved the strategy's state. A fill stored but never
-- handled (the process died in between: kill -9, a SIGTERM in the middle of the handler) is handed to
-- its strategy again by the next reconcile, so the strategy's state follows the broker's truth.
-- Fills stored before this migration were handled by the process that stored them.
ALTER TABLE fills ADD COLUMN handled_at timestamptz;
UPDATE fills SET handled_at = coalesce(ts_init, ts_event);

-- The fills a reconcile hands over again.
CREATE INDEX fills_unhandled ON fills (account_id, ts_event) WHERE handled_at IS NULL;
