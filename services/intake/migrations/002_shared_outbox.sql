-- Databases made before the outbox was declared once (shared/outbox.py) had their own
-- copy: seq tied to the event log by a foreign key, and an attempts column never used.
-- Bring them to the one schema; on a new database this changes nothing.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_seq_fkey;
ALTER TABLE outbox DROP COLUMN IF EXISTS attempts;
CREATE SEQUENCE IF NOT EXISTS outbox_seq_seq OWNED BY outbox.seq;
ALTER TABLE outbox ALTER COLUMN seq SET DEFAULT nextval('outbox_seq_seq');
