-- Delivery: the exactly-once ledger, its batches, processed webhook events, newsletter runs
-- and the shared rate limiter. Times are UTC text 'YYYY-MM-DDTHH:MM:SSZ'.

-- One request (SendGrid) or one group of messages (SMTP, outbox) for one edition.
-- 'sending' means a request may be on the wire: its rows are the ledger's pending rows of
-- the edition with subscriber ids in [first_subscriber, last_subscriber] (claiming a batch
-- writes no ledger row). A batch left 'sending' by a dead process becomes 'unknown'.
CREATE TABLE delivery_batches (
    id                   INTEGER PRIMARY KEY,
    edition_id           INTEGER NOT NULL REFERENCES editions (id),
    status               TEXT NOT NULL DEFAULT 'sending'
                         CHECK (status IN ('sending', 'sent', 'failed', 'retry', 'unknown', 'resent')),
    recipients           INTEGER NOT NULL,
    first_subscriber     INTEGER NOT NULL,
    last_subscriber      INTEGER NOT NULL,
    attempt              INTEGER NOT NULL DEFAULT 1,
    provider_message_id  TEXT,
    error                TEXT,
    started_at           TEXT NOT NULL,
    finished_at          TEXT
);
-- In-flight and unknown batches: crash recovery and `publisher status`.
CREATE INDEX delivery_batches_status ON delivery_batches (status, edition_id);

-- The ledger: one row per (edition, subscriber), written 'pending' before any request, and
-- given its outcome (and the batch that had it) after. Rows are read in primary-key order
-- (the next pending subscribers of an edition). The send time and message id are the
-- batch's; provider_message_id is set here only when it differs (SMTP: one per message).
CREATE TABLE deliveries (
    edition_id           INTEGER NOT NULL REFERENCES editions (id),
    subscriber_id        INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'sent', 'failed', 'unknown', 'skipped')),
    -- the delivery_batches row that had it (no foreign key: checking one per row doubled
    -- the cost of recording a batch; only the engine writes it)
    batch_id             INTEGER,
    provider_message_id  TEXT,
    error                TEXT,
    -- the last Event Webhook event for this message (delivered, bounce, dropped, spamreport…)
    event                TEXT,
    event_at             TEXT,
    PRIMARY KEY (edition_id, subscriber_id)
) WITHOUT ROWID;
-- A subscriber's deliveries (history; erasing a subscriber cascades through it).
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);

-- Event Webhook events already applied: a redelivered event changes nothing.
CREATE TABLE webhook_events (
    sg_event_id  TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    received_at  TEXT NOT NULL
) WITHOUT ROWID;

-- Per newsletter: the last cron fire time handled (for "due") and the process sending it.
CREATE TABLE newsletter_runs (
    newsletter      TEXT PRIMARY KEY,
    last_fire_at    TEXT,
    last_run_at     TEXT,
    sender          TEXT,          -- host:pid of the process sending it now, NULL when idle
    sender_since    TEXT
) WITHOUT ROWID;

-- A rate limit shared by every thread and process using this store (GCRA: the earliest
-- time, in epoch seconds, at which the next message may start).
CREATE TABLE rate_limits (
    name       TEXT PRIMARY KEY,
    next_free  REAL NOT NULL
) WITHOUT ROWID;
