-- The emails of the sign-up form ("confirm your subscription", "already subscribed"), queued in
-- the transaction of the request and sent by the worker of `publisher serve`: the request never
-- waits for the transport, and its answer and timing are the same whatever the address.
-- Only the subscriber is stored: the message is built when it leaves, from their status then.
-- status: queued → sending → sent; or back to queued (refused, retried at next_attempt_at),
-- failed (refused max_attempts times), unknown (it may have left: never sent again), dropped
-- (nothing to send any more: the subscriber bounced or complained meanwhile).
CREATE TABLE signup_mails (
    id               INTEGER PRIMARY KEY,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status = 'queued' OR status = 'sending' OR status = 'sent' OR status = 'failed'
                            OR status = 'unknown' OR status = 'dropped'),
    attempts         INTEGER NOT NULL DEFAULT 0,
    queued_at        TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    finished_at      TEXT,
    error            TEXT
);
-- At most one mail waiting per subscriber: asking again before it left adds none.
CREATE UNIQUE INDEX signup_mails_one_queued ON signup_mails (subscriber_id) WHERE status = 'queued';
-- The worker's look-up of the next mail due.
CREATE INDEX signup_mails_due ON signup_mails (next_attempt_at) WHERE status = 'queued';
