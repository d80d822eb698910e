-- An agency's registered name (agency-registered `name`: an organisation's, not personal
-- data), so pages can name agencies instead of showing their ids. Rows applied before this
-- column existed have none until a rebuild; readers fall back to the id.
ALTER TABLE agency_facts ADD COLUMN name text;
