-- A job run's claim is a lease: the owning process (a random id per process) renews `lease_until`
-- with a heartbeat while the job runs. A run whose lease ran out without `finished_at` (its owner
-- died) is taken over by the next caller and run again; a finished run is never run again.
-- Rows from before this migration keep working: a finished run stays finished; an unfinished one
-- has no lease (NULL) and counts as expired.
ALTER TABLE job_runs
    ADD COLUMN owner        text NOT NULL DEFAULT '',
    ADD COLUMN lease_until  timestamptz,
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN attempts     integer NOT NULL DEFAULT 1;

-- The unfinished runs a starting process looks for (to resume one whose owner died).
CREATE INDEX job_runs_unfinished ON job_runs (scheduled_for) WHERE finished_at IS NULL;
