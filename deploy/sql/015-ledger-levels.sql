-- Orleans.LlmRouter — 015: the budget levels a call was made under (issue 25).
--
-- project_id: the project of the key the call used (or the one the caller named); key_id: the id of the tenant key
-- (never the secret); end_user: the end user the call was made for. All null on rows written before the levels, and on
-- calls that name none. Each level's counters are a cache of the sums of its rows, so each level has an index that
-- reads its rows in tenant_seq order. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS project_id text;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS key_id text;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS end_user text;

CREATE INDEX IF NOT EXISTS llm_calls_project_seq ON llm_calls (tenant_id, project_id, tenant_seq) WHERE project_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_key_seq ON llm_calls (tenant_id, key_id, tenant_seq) WHERE key_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_end_user_seq ON llm_calls (tenant_id, end_user, tenant_seq) WHERE end_user IS NOT NULL;

COMMENT ON COLUMN llm_calls.project_id IS 'The project the call was made under; null for none.';
COMMENT ON COLUMN llm_calls.key_id IS 'The id of the tenant key that authenticated the call (never the secret); null for none.';
COMMENT ON COLUMN llm_calls.end_user IS 'The end user the call was made for; null for none.';

COMMIT;
