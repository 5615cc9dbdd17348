-- Orleans.LlmRouter — 013: browsing the ledger across tenants (issue 28, the admin console).
--
-- The console's call log pages newest first over every tenant (keyset on completed_at, request_id) and its overview
-- aggregates a time range over every tenant; the tenant-first indexes of 010 cannot serve either without a scan.
-- This index bounds both by the range asked for. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE INDEX IF NOT EXISTS ix_llm_calls_completed ON llm_calls (completed_at, request_id);

COMMIT;
