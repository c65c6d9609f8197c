-- Reports leave out sessions enrichment flagged as bots (context isBot = "true") unless asked
-- for them: this partial index lists those sessions, so leaving them out costs a lookup in a
-- small set rather than reading every session's context.
CREATE INDEX sessions_bots ON sessions (id) WHERE json_extract(context, '$."isBot"') = 'true'
