-- Orleans.LlmRouter — 011: the deployment of each ledger row (models with several deployments, issue 19).
--
-- NULL for a single-provider model (and for every row written before deployments existed); otherwise the id of the
-- deployment that was called (its provider is in llm_calls.provider). Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS deployment text NULL;

COMMENT ON COLUMN llm_calls.deployment IS 'Deployment id of a model with several deployments; NULL for a single-provider model.';

COMMIT;
