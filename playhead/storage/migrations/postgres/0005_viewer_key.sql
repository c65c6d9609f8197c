-- PostgreSQL translation of migrations/sqlite/0005_viewer_key.sql.
ALTER TABLE sessions ADD COLUMN viewer_key TEXT;
UPDATE sessions SET viewer_key = COALESCE(
    CASE WHEN jsonb_typeof(params::jsonb -> 'visitor.marketingCloudUserId') = 'string'
         THEN NULLIF(params::jsonb ->> 'visitor.marketingCloudUserId', '') END,
    CASE WHEN jsonb_typeof(params::jsonb -> 'analytics.visitorId') = 'string'
         THEN NULLIF(params::jsonb ->> 'analytics.visitorId', '') END,
    CASE WHEN jsonb_typeof(params::jsonb -> 'analytics.aid') = 'string'
         THEN NULLIF(params::jsonb ->> 'analytics.aid', '') END);
CREATE INDEX sessions_viewer_key ON sessions (viewer_key) WHERE viewer_key IS NOT NULL;
