-- No JIT compilation for reporting's statements. They are short reads (a summary sends
-- about fifteen, each answered in milliseconds to a few hundred), but the planner's
-- estimates for some of them pass jit_above_cost: the staff-days count, whose
-- generate_series it guesses at 1,000 days a dispatch, was estimated at ~766,000 and
-- spent 975 ms compiling to run for 80 ms (EXPLAIN ANALYZE at 1,000,000 events,
-- docs/performance.md). Compiling never pays for itself here. The service owns its
-- database (shared/db.py creates it), so it may set this; new sessions take it.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;
