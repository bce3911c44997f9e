-- The commit row of a reservation the LLM gateway settled says which model
-- used the tokens, how they split into prompt and completion, and what they
-- cost by the price table. NULL on every other row.
ALTER TABLE budget_transactions ADD COLUMN model text;
ALTER TABLE budget_transactions ADD COLUMN prompt_tokens bigint;
ALTER TABLE budget_transactions ADD COLUMN completion_tokens bigint;
ALTER TABLE budget_transactions ADD COLUMN cost_usd double precision;
