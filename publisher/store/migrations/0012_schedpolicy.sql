-- When the store first saw each newsletter in config.toml (the first run of `run-once` or
-- `publisher serve` with it): a newsletter never sent goes out at its first fire time after
-- that, never earlier. Newsletters already handled count as seen when they last fired.
ALTER TABLE newsletter_runs ADD COLUMN added_at TEXT;
UPDATE newsletter_runs SET added_at = coalesce(last_fire_at, last_run_at);
