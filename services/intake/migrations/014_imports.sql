-- Spreadsheet imports (POST /v1/imports): progress and rejected rows, kept so that the
-- result is still there after intake restarts. The file itself is not kept: an import
-- that a restart interrupts is marked failed ("interrupted"), and uploading the file
-- again finishes it (rows already stored answer duplicate).
CREATE TABLE imports (
    import_id     uuid PRIMARY KEY,
    agency_id     text NOT NULL,
    sheet_type    text NOT NULL,
    started_by    text NOT NULL,              -- the principal's caller key: only it (or admin) reads
    file_name     text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    rows          int NOT NULL,
    processed     int NOT NULL DEFAULT 0,
    accepted      int NOT NULL DEFAULT 0,
    duplicate     int NOT NULL DEFAULT 0,
    rejected      int NOT NULL DEFAULT 0,
    errors        jsonb NOT NULL DEFAULT '[]',
    errors_omitted int NOT NULL DEFAULT 0,    -- rejected rows' errors beyond the stored cap
    message       text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX imports_by_caller ON imports (started_by, started_at);
