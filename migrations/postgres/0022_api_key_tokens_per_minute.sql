-- An API key's optional tokens-per-minute limit on the LLM gateway (issue
-- 24): the most tokens the key's calls may use in a minute, across every
-- replica. NULL leaves the key unlimited there.
ALTER TABLE api_keys ADD COLUMN tokens_per_minute bigint CHECK (tokens_per_minute > 0);
