-- The ledger's status check as comparisons, not IN (…): for a CHECK with an IN list of more
-- than two values SQLite builds a temporary table on every row it writes, which made writing
-- a million ledger rows (enqueue) 1.6 times and recording their outcomes 2.4 times slower.
-- SQLite cannot change a CHECK in place: the table is rebuilt, same columns and index.

CREATE TABLE deliveries_rebuilt (
    edition_id           INTEGER NOT NULL REFERENCES editions (id),
    subscriber_id        INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status = 'pending' OR status = 'sent' OR status = 'failed'
                                OR status = 'unknown' OR status = 'skipped'),
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

INSERT INTO deliveries_rebuilt (edition_id, subscriber_id, status, batch_id, provider_message_id, error, event, event_at)
SELECT edition_id, subscriber_id, status, batch_id, provider_message_id, error, event, event_at FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
-- A subscriber's deliveries (history; erasing a subscriber cascades through it).
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);
