-- Databases made before the outbox and processed_events were declared once
-- (shared/outbox.py, shared/consumer.py) had looser copies: nullable columns.
-- Bring them to the one schema; on a new database this changes nothing.
UPDATE processed_events SET processed_at = now() WHERE processed_at IS NULL;
ALTER TABLE processed_events ALTER COLUMN processed_at SET NOT NULL;
ALTER TABLE outbox
    ALTER COLUMN subject SET NOT NULL,
    ALTER COLUMN msg_id SET NOT NULL,
    ALTER COLUMN body SET NOT NULL;
