-- Transports that send one message at a time (SMTP) record each message's outcome as soon as
-- it is known. on_wire is then the subscriber whose message may be on the wire (0: none), so
-- that after a crash only that message's outcome is unknown and the rest of its batch is
-- still pending. NULL for a batch sent as one request (SendGrid, the outbox).
ALTER TABLE delivery_batches ADD COLUMN on_wire INTEGER;
