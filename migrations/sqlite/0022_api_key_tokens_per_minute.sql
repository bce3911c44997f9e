-- An API key's optional tokens-per-minute limit on the LLM gateway. Mirrors
-- postgres/0022_api_key_tokens_per_minute.sql.
ALTER TABLE api_keys ADD COLUMN tokens_per_minute INTEGER CHECK (tokens_per_minute > 0);
