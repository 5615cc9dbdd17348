-- Orleans.LlmRouter — 012: the W3C trace id of each ledger row (issue 31).
--
-- The trace the call ran under: the caller's traceparent, or the trace the gateway started for a request without one
-- (returned to the caller in the traceresponse header). 32 lowercase hex digits; NULL for a grain-API call made without
-- any trace context and for every row written before this column existed. Lets an operator go from a bill line to the
-- trace, the gateway's log lines and the upstream's. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS trace_id text NULL;

COMMENT ON COLUMN llm_calls.trace_id IS 'W3C trace id (32 hex digits) the call ran under; NULL when it had no trace context.';

COMMIT;
