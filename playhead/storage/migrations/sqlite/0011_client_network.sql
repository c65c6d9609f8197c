-- With --store-ip truncated, a session keeps its client's network (/24 for IPv4, /48 for IPv6,
-- CIDR notation), never the address as sent; NULL with the default --store-ip none.
ALTER TABLE sessions ADD COLUMN client_network TEXT
