-- Each session keeps its viewer key (playhead.events.viewer_key: the first non-empty of
-- visitor.marketingCloudUserId, analytics.visitorId, analytics.aid), set at its sessionStart:
-- reports count unique viewers by it and a viewer's sessions are found by it.
ALTER TABLE sessions ADD COLUMN viewer_key TEXT;
UPDATE sessions SET viewer_key = COALESCE(
    CASE WHEN json_type(params, '$."visitor.marketingCloudUserId"') = 'text'
         THEN NULLIF(json_extract(params, '$."visitor.marketingCloudUserId"'), '') END,
    CASE WHEN json_type(params, '$."analytics.visitorId"') = 'text'
         THEN NULLIF(json_extract(params, '$."analytics.visitorId"'), '') END,
    CASE WHEN json_type(params, '$."analytics.aid"') = 'text'
         THEN NULLIF(json_extract(params, '$."analytics.aid"'), '') END);
CREATE INDEX sessions_viewer_key ON sessions (viewer_key) WHERE viewer_key IS NOT NULL
