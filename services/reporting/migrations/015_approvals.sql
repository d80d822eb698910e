-- Approved periods (SPEC 3.9): one row per period-approved event reporting consumed from
-- EVENTS (it is a projection like the fact tables, so a rebuild makes it again from the
-- stream). The approved figures are kept exactly as the event carries them (canonical
-- JSON text, not jsonb, which would reorder and reformat them): the approval's figures are
-- byte-identical whatever the code that computes today's figures has become. No row is
-- ever updated: a later approval of the same scope and period supersedes an earlier one
-- in the reading (services/reporting/approvals/store.py), and the history stays.
CREATE TABLE approvals (
    approval_id text PRIMARY KEY,
    event_id    text NOT NULL,
    region      text,                 -- the scope: a region prefix, or
    pairing     text,                 -- a pairing (exactly one of the two)
    from_on     date NOT NULL,
    to_on       date NOT NULL,
    approver    text NOT NULL,        -- province prefix or "admin"
    approved_at timestamptz NOT NULL, -- the event's occurred_at
    stream_seq  bigint NOT NULL,      -- the EVENTS position the figures reflect
    watermark   timestamptz,          -- intake's newest recording time they reflect
    fingerprint text NOT NULL,        -- sha256 of `figures`
    figures     text NOT NULL,
    supersedes  text,
    CHECK ((region IS NULL) <> (pairing IS NULL))
);
CREATE INDEX approvals_scope ON approvals (region, pairing, from_on, to_on, approved_at);
