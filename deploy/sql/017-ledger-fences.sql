-- Orleans.LlmRouter — 017: per-tenant fences of the ledger's writers.
--
-- A tenant's budget grain raises its tenant's epoch when it activates, before it catches up from the ledger; a row
-- appended under an older epoch (by an activation of the grain that was replaced: two can live for a moment while
-- the grain moves between silos) is refused instead of stored. So a row is either read by the newest activation's
-- catch-up or refused and settled again through it: never stored and counted by no one. Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE TABLE IF NOT EXISTS llm_tenant_epochs (
    tenant_id text PRIMARY KEY,
    epoch bigint NOT NULL
);

COMMENT ON TABLE llm_tenant_epochs IS 'The fence epoch of each tenant''s newest budget-grain activation: appends under an older epoch are refused.';

COMMIT;
