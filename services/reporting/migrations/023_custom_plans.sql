-- Plan every statement for its own parameters. A summary's statements take optional
-- filters (`$7::text[] IS NULL OR agency_id = ANY($7)`, `$5::text IS NULL OR project_id =
-- $5`); after five executions of a prepared statement PostgreSQL may switch to one generic
-- plan for all parameters, chosen from the scopes asked first. At 10,000,000 events a
-- project's all-time summary went from 440 ms to 1.9-2.4 s on its sixth execution in one
-- session, a province's year from 110 to 140 ms (docs/performance.md); planning each time
-- costs well under a millisecond a statement. As 017, for every new session.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END
$$;
