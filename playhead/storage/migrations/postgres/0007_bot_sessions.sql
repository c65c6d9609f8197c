-- PostgreSQL translation of migrations/sqlite/0007_bot_sessions.sql.
CREATE INDEX sessions_bots ON sessions (id) WHERE (context::jsonb ->> 'isBot') = 'true';
