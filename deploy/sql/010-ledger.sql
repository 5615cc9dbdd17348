-- Orleans.LlmRouter — 010: billing ledger (design.md §5).
--
-- llm_calls is append-only: the tenant's budget grain inserts one row per settled call (group
-- commit, INSERT ... ON CONFLICT (request_id) DO NOTHING so a replayed spool is harmless) and never
-- updates or deletes rows. It is the source of truth. tenant_seq is assigned by the tenant's budget
-- grain (its single writer), increasing per tenant; the grain persists counters over exactly the
-- rows with tenant_seq up to a position and, on activation, adds the rows above it.
--
-- Idempotent: IF NOT EXISTS everywhere. Pure SQL, safe to run through psql or Npgsql.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE TABLE IF NOT EXISTS llm_calls
(
    -- Ledger position: strictly increasing in allocation order, unique, never reused.
    seq                bigserial        NOT NULL,
    request_id         text             NOT NULL,
    tenant_id          text             NOT NULL,
    tenant_seq         bigint           NOT NULL,
    run_id             text             NULL,
    tags               text[]           NOT NULL DEFAULT '{}',
    action             text             NULL,
    strategy           text             NULL,
    provider           text             NOT NULL,
    model              text             NOT NULL,
    prompt_tokens      bigint           NOT NULL DEFAULT 0,
    completion_tokens  bigint           NOT NULL DEFAULT 0,
    cached_tokens      bigint           NOT NULL DEFAULT 0,
    reasoning_tokens   bigint           NOT NULL DEFAULT 0,
    cost_usd           numeric(20, 10)  NOT NULL DEFAULT 0,
    latency_ms         double precision NULL,
    ttft_ms            double precision NULL,
    success            boolean          NOT NULL,
    error_class        text             NULL,
    attempts           integer          NOT NULL DEFAULT 1,
    started_at         timestamptz      NOT NULL DEFAULT now(),
    completed_at       timestamptz      NOT NULL DEFAULT now(),
    inserted_at        timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT pk_llm_calls PRIMARY KEY (request_id),
    CONSTRAINT uq_llm_calls_seq UNIQUE (seq),
    CONSTRAINT ck_llm_calls_tokens_nonneg CHECK (prompt_tokens >= 0 AND completion_tokens >= 0
                                                 AND cached_tokens >= 0 AND reasoning_tokens >= 0),
    CONSTRAINT ck_llm_calls_cost_nonneg CHECK (cost_usd >= 0),
    CONSTRAINT ck_llm_calls_attempts CHECK (attempts >= 0)
);

-- Upgrades a ledger created before tenant positions existed (rows from then count from position 0).
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS tenant_seq bigint NOT NULL DEFAULT 0;
-- Upgrades for exact billing: usage the gateway counted itself, and prompt-cache writes (all TTLs, and the 1-hour part).
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS usage_estimated       boolean NOT NULL DEFAULT false;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS cache_write_tokens    bigint  NOT NULL DEFAULT 0;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS cache_write_1h_tokens bigint  NOT NULL DEFAULT 0;

COMMENT ON TABLE llm_calls IS 'Append-only billing ledger: one row per settled LLM call. Source of truth for budgets.';
COMMENT ON COLUMN llm_calls.seq IS 'Global insertion order.';
COMMENT ON COLUMN llm_calls.tenant_seq IS 'Per-tenant position assigned by the budget grain; its counters include exactly the rows up to a persisted position.';
COMMENT ON COLUMN llm_calls.cost_usd IS 'Settled cost in USD (numeric(20,10): exact, no float rounding).';
COMMENT ON COLUMN llm_calls.usage_estimated IS 'True when the provider reported no usage and the gateway counted the tokens itself.';
COMMENT ON COLUMN llm_calls.cache_write_tokens IS 'Prompt tokens written to the provider''s prompt cache (all TTLs; part of prompt_tokens).';
COMMENT ON COLUMN llm_calls.cache_write_1h_tokens IS 'The part of cache_write_tokens written with a one-hour TTL.';

-- Usage queries / CSV export (by tenant + time range, model, provider, action, tag).
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_completed ON llm_calls (tenant_id, completed_at);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_model     ON llm_calls (tenant_id, model);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_provider  ON llm_calls (tenant_id, provider);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_action    ON llm_calls (tenant_id, action);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tags             ON llm_calls USING gin (tags);
-- Budget grain catch-up: WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq.
-- Not unique: after a failover a spooled row may share a position with a newer one; both are counted.
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_seq ON llm_calls (tenant_id, tenant_seq);
CREATE INDEX IF NOT EXISTS ix_llm_calls_run              ON llm_calls (run_id) WHERE run_id IS NOT NULL;

-- Rows PostgreSQL refused for their data (SQLSTATE class 22 or 23 other than a unique violation, e.g. a NUL
-- character in a text value, a numeric overflow, a check violation). The call was delivered and its budget counted,
-- so the row is kept here, whole, instead of blocking the ledger's group commit or spool replay. record is the
-- LedgerRecord as JSON (type json, not jsonb: json keeps an escaped \u0000 that jsonb refuses); request_id and
-- tenant_id are copies with NUL characters replaced by U+FFFD, for lookups and for "billed once".
CREATE TABLE IF NOT EXISTS llm_calls_quarantine
(
    request_id      text        NOT NULL,
    tenant_id       text        NOT NULL,
    tenant_seq      bigint      NOT NULL DEFAULT 0,
    record          json        NOT NULL,
    sqlstate        text        NULL,
    error           text        NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_llm_calls_quarantine PRIMARY KEY (request_id)
);

COMMENT ON TABLE llm_calls_quarantine IS 'Ledger rows PostgreSQL rejected for their data; counted in budgets, listed by GET /api/v1/ledger/quarantine.';
CREATE INDEX IF NOT EXISTS ix_llm_calls_quarantine_tenant ON llm_calls_quarantine (tenant_id, tenant_seq);

-- Tenants managed through the admin API live in Orleans grain storage (the tenant registry grain,
-- OrleansStorage above), so they need no table of their own.

COMMIT;
