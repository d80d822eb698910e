-- Intake's own database: the append-only event log, the agencies' regions, and clients'
-- personal data (encrypted). The outbox, written in the same transaction as the log, is
-- declared by shared/outbox.py.

CREATE TABLE agencies (
    agency_id     text PRIMARY KEY,
    region_code   text NOT NULL,
    registered_by text NOT NULL,          -- event_id of the registration in force
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Pairing and project ids belong to the agency that used them first (and a pairing has
-- two sides): see services/intake/references.py.
CREATE TABLE owned_ids (
    kind       text NOT NULL,              -- 'pairing' or 'project'
    id         text NOT NULL,
    agency_id  text NOT NULL,
    assisting  text,
    assisted   text,
    PRIMARY KEY (kind, id)
);

-- Append-only: rows are never updated or deleted. Event ids are unique per agency.
CREATE TABLE event_log (
    seq          bigserial PRIMARY KEY,
    agency_id    text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    region_code  text NOT NULL,
    content_hash bytea NOT NULL,          -- keyed HMAC of the event as sent
    canonical    jsonb NOT NULL,          -- what went on EVENTS: no personal data
    UNIQUE (agency_id, event_id)
);
-- One guard for every append-only table (the event log, the audit log).
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Personal data of clients: AES-GCM ciphertexts under a per-client data key. Keys live in
-- their own schema, apart from the data: each agency has a data key wrapped by the
-- key-encryption key (which is never stored in the database), and each client's key is
-- wrapped by its agency's key. Erasing a client deletes its key: its ciphertexts become
-- unreadable everywhere, backups included, while the aggregates stay.
CREATE SCHEMA keyring;

CREATE TABLE keyring.agency_keys (
    agency_id   text PRIMARY KEY,
    wrapped_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE keyring.client_keys (
    agency_id   text NOT NULL,
    client_id   text NOT NULL,
    wrapped_key bytea NOT NULL,
    PRIMARY KEY (agency_id, client_id)
);

CREATE TABLE client_erasures (
    agency_id  text NOT NULL,
    client_id  text NOT NULL,
    erased_at  timestamptz NOT NULL DEFAULT now(),
    erased_by  text NOT NULL,
    PRIMARY KEY (agency_id, client_id)
);

CREATE TABLE client_personal (
    agency_id      text NOT NULL,
    client_id      text NOT NULL,
    event_seq      bigint NOT NULL REFERENCES event_log (seq),
    name_enc       bytea NOT NULL,
    id_number_enc  bytea,
    phone_enc      bytea,
    id_number_hmac bytea,                -- spots one person registered twice
    PRIMARY KEY (agency_id, client_id, event_seq)
);
CREATE INDEX client_personal_id_number ON client_personal (id_number_hmac);

-- Every read of personal data (and every erasure): who, when, which client, why.
CREATE TABLE personal_data_audit (
    seq        bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,               -- role:agency-or-region, and the token id
    agency_id  text NOT NULL,
    client_id  text NOT NULL,
    action     text NOT NULL,               -- 'read' or 'erase'
    reason     text NOT NULL
);
CREATE TRIGGER personal_data_audit_append_only BEFORE UPDATE OR DELETE ON personal_data_audit
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
