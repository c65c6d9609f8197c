-- PostgreSQL translation of migrations/sqlite/0011_client_network.sql.
ALTER TABLE sessions ADD COLUMN client_network TEXT;
