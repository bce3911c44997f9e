-- Model, token split and cost on the gateway's commit rows. Mirrors
-- postgres/0021_ledger_model_cost.sql.
ALTER TABLE budget_transactions ADD COLUMN model TEXT;
ALTER TABLE budget_transactions ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE budget_transactions ADD COLUMN completion_tokens INTEGER;
ALTER TABLE budget_transactions ADD COLUMN cost_usd REAL;
