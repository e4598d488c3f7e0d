-- Subscribers: consent and status history, the forget list, pauses.

-- When the status last changed ("unsubscribed since …"), and the pause a subscriber chose in
-- the preferences page (NULL: not paused; paused subscribers receive nothing).
ALTER TABLE subscribers ADD COLUMN status_at TEXT;
ALTER TABLE subscribers ADD COLUMN paused_at TEXT;
UPDATE subscribers SET status_at = updated_at WHERE status_at IS NULL;

-- The subscribers who receive newsletters: serves segment counts and streaming in id order
-- without touching the table for the status and pause tests.
CREATE INDEX subscribers_mailable ON subscribers (id) WHERE status = 'active' AND paused_at IS NULL;

-- Every change of status, consent, interests or pause, with its time and source: the proof
-- of consent GDPR asks for. Erased with the subscriber when they are forgotten.
-- change: comparisons, not IN (…), as for subscribers.status in 0001.
CREATE TABLE subscriber_history (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    change         TEXT NOT NULL
                   CHECK (change = 'status' OR change = 'consent' OR change = 'interests' OR change = 'paused'),
    old_value      TEXT,
    new_value      TEXT,
    source         TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX subscriber_history_subscriber ON subscriber_history (subscriber_id, id);

-- Forgotten addresses: only a keyed hash (HMAC-SHA256 with a key derived from
-- PUBLISHER_SECRET) of the lower-cased address, so it is never imported or mailed again.
-- key_id tells which secret made the hash (a changed secret can no longer match it).
CREATE TABLE suppressed_addresses (
    address_hash   TEXT PRIMARY KEY,
    key_id         TEXT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('forgotten')),
    at             TEXT NOT NULL,
    source         TEXT NOT NULL
) WITHOUT ROWID;
