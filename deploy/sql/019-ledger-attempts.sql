-- Orleans.LlmRouter — 019: each try of a request on its ledger row (issue 28: a call's detail lists its attempts).
--
-- llm_calls.attempt_log: a JSON array, one object per try in order — Model, Provider, Deployment, ErrorClass (null for
-- an answer taken) and LatencyMs. The provider's message is not kept. Null on rows written before, and on calls answered
-- from the response cache. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS attempt_log jsonb;
COMMENT ON COLUMN llm_calls.attempt_log IS 'Each try of the request in order: model, provider, deployment, error class (null for the answer taken), latency.';

COMMIT;
