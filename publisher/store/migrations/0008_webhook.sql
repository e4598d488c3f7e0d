-- The nightly pruning of old Event Webhook event ids (received_at < cutoff) reads this index
-- instead of the whole table.
CREATE INDEX webhook_events_received ON webhook_events (received_at);
