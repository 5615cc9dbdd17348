-- Orleans.LlmRouter — 013: what each ledger row bills (issue 30, the MCP gateway).
--
-- 'model_call' for a model's answer (every row written before this column existed), 'tool_call' for an MCP tool call
-- made through /mcp: then provider is the MCP server's id and model the server's own tool name, tokens are zero and
-- cost_usd is the catalog's per-call price. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'model_call';

COMMENT ON COLUMN llm_calls.kind IS 'model_call (a model''s answer) or tool_call (an MCP tool call: provider = MCP server, model = tool).';

COMMIT;
