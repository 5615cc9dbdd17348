-- Orleans.LlmRouter — 016: the ledger at a year of traffic (issue 33): llm_calls range-partitioned by completed_at,
-- request-id idempotency in llm_call_ids, per-tenant/day/model/level rollups, partition maintenance and retention.
--
--   * llm_calls is PARTITION BY RANGE (completed_at): one partition a month (or a day, setting partition_interval in
--     llm_ledger_settings), named llm_calls_pYYYYMM / llm_calls_pYYYYMMDD, plus llm_calls_default, a safety net that
--     should stay empty. Every index is declared on the parent, so each partition has its own.
--   * A unique key on request_id alone cannot be enforced on a partitioned table (it would have to include
--     completed_at), so "a request id is billed once" lives in llm_call_ids (request_id primary key): the ledger's one
--     insert statement writes the id first (ON CONFLICT DO NOTHING) and inserts into llm_calls only the rows whose id
--     it inserted. Same statement, same transaction: an id without its row (or the reverse) is never committed.
--   * llm_usage_daily holds per tenant, UTC day, model, provider, project and key the calls, failures, estimated calls,
--     tokens by kind and cost. The same statement upserts it from the rows it inserted (a CTE over RETURNING), so a
--     day's rollup equals the sum of its rows exactly. Rows written to llm_calls by anything else (manual SQL) are not
--     rolled up. project_id and key_id are null for none: the key is UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+).
--   * llm_ledger_ensure_partitions(through [, from]) creates the partitions up to a time (the gateway calls it at start
--     and daily); a row with no partition lands in llm_calls_default, and the next ensure moves it into the partition
--     it creates for it.
--   * llm_ledger_drop_partition(name) detaches and drops the oldest partition, forgets the request ids it held and
--     moves llm_ledger_state.raw_from (the oldest time still held as rows) past it. Rollups are never dropped.
--
-- Upgrade: an existing unpartitioned llm_calls (and its rows) is moved into the partitioned table in this transaction:
-- renamed to llm_calls_unpartitioned, copied (ids, rows, rollups), dropped, then the indexes are built on the
-- partitions. Idempotent: on a partitioned llm_calls the migration does nothing; functions CREATE OR REPLACE; tables
-- IF NOT EXISTS. The quarantine (llm_calls_quarantine) is not partitioned: it holds only refused rows.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE TABLE IF NOT EXISTS llm_ledger_settings
(
    key   text NOT NULL PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO llm_ledger_settings (key, value) VALUES ('partition_interval', 'month') ON CONFLICT (key) DO NOTHING;
COMMENT ON TABLE llm_ledger_settings IS 'Ledger settings: partition_interval = month | day (applies to partitions created from then on).';

-- One row: the oldest completed_at still held as rows (NULL: nothing dropped yet). Before it, only rollups remain.
CREATE TABLE IF NOT EXISTS llm_ledger_state
(
    id        boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
    raw_from  timestamptz NULL
);
INSERT INTO llm_ledger_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING;

-- The partitions the maintenance created, with their bounds (retention reads them; also in the catalog).
CREATE TABLE IF NOT EXISTS llm_ledger_partitions
(
    name       text        NOT NULL PRIMARY KEY,
    from_time  timestamptz NOT NULL,
    to_time    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS llm_call_ids
(
    request_id    text        NOT NULL,
    completed_at  timestamptz NOT NULL,
    CONSTRAINT pk_llm_call_ids PRIMARY KEY (request_id)
);
CREATE INDEX IF NOT EXISTS ix_llm_call_ids_completed ON llm_call_ids (completed_at);
COMMENT ON TABLE llm_call_ids IS 'Every request id in llm_calls (billed once); written in the same statement as its row, trimmed with its partition.';

CREATE TABLE IF NOT EXISTS llm_usage_daily
(
    tenant_id              text            NOT NULL,
    day                    date            NOT NULL,
    model                  text            NOT NULL,
    provider               text            NOT NULL,
    project_id             text            NULL,
    key_id                 text            NULL,
    calls                  bigint          NOT NULL DEFAULT 0,
    failed                 bigint          NOT NULL DEFAULT 0,
    estimated              bigint          NOT NULL DEFAULT 0,
    prompt_tokens          bigint          NOT NULL DEFAULT 0,
    completion_tokens      bigint          NOT NULL DEFAULT 0,
    cached_tokens          bigint          NOT NULL DEFAULT 0,
    reasoning_tokens       bigint          NOT NULL DEFAULT 0,
    cache_write_tokens     bigint          NOT NULL DEFAULT 0,
    cache_write_1h_tokens  bigint          NOT NULL DEFAULT 0,
    cost_usd               numeric(30, 10) NOT NULL DEFAULT 0,
    CONSTRAINT uq_llm_usage_daily UNIQUE NULLS NOT DISTINCT (tenant_id, day, model, provider, project_id, key_id)
);
-- The 30-day overview of every tenant reads by day.
CREATE INDEX IF NOT EXISTS ix_llm_usage_daily_day ON llm_usage_daily (day);
COMMENT ON TABLE llm_usage_daily IS 'Per tenant, UTC day, model, provider, project and key: sums of llm_calls rows, upserted in the ledger''s insert statement. Kept forever.';

-- Creates the partitions of llm_calls from p_from (default: now) through p_through, at the configured interval.
-- A period that overlaps an existing partition (e.g. after switching month -> day) is skipped. Rows already in
-- llm_calls_default for a new period are moved into it. Returns how many partitions it created.
CREATE OR REPLACE FUNCTION llm_ledger_ensure_partitions(p_through timestamptz, p_from timestamptz DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    unit     text := coalesce((SELECT value FROM llm_ledger_settings WHERE key = 'partition_interval'), 'month');
    step     interval;
    lo       timestamp;
    hi       timestamp;
    lo_tz    timestamptz;
    hi_tz    timestamptz;
    part     text;
    moved    bigint;
    created  integer := 0;
BEGIN
    IF unit NOT IN ('month', 'day') THEN
        RAISE EXCEPTION 'llm_ledger_settings.partition_interval must be month or day, not %', unit;
    END IF;
    step := CASE unit WHEN 'month' THEN interval '1 month' ELSE interval '1 day' END;
    -- Serialise maintenance runs (several silos start together).
    PERFORM pg_advisory_xact_lock(hashtext('llmrouter-ledger-partitions'));
    lo := date_trunc(unit, coalesce(p_from, now()) AT TIME ZONE 'UTC');
    WHILE (lo AT TIME ZONE 'UTC') <= p_through LOOP
        hi := lo + step;
        lo_tz := lo AT TIME ZONE 'UTC';
        hi_tz := hi AT TIME ZONE 'UTC';
        part := 'llm_calls_p' || to_char(lo, CASE unit WHEN 'month' THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
        IF to_regclass(part) IS NULL AND NOT EXISTS (
                SELECT 1 FROM llm_ledger_partitions p WHERE p.from_time < hi_tz AND p.to_time > lo_tz)
           -- Never below what retention already dropped.
           AND NOT EXISTS (SELECT 1 FROM llm_ledger_state s WHERE s.raw_from IS NOT NULL AND lo_tz < s.raw_from) THEN
            -- Rows that fell into the default partition for this period move into the new one (ids and rollups stay).
            IF to_regclass('pg_temp.llm_calls_moving') IS NULL THEN
                CREATE TEMP TABLE llm_calls_moving (LIKE llm_calls) ON COMMIT DROP;
            END IF;
            TRUNCATE llm_calls_moving;
            WITH m AS (DELETE FROM llm_calls_default WHERE completed_at >= lo_tz AND completed_at < hi_tz RETURNING *)
            INSERT INTO llm_calls_moving SELECT * FROM m;
            GET DIAGNOSTICS moved = ROW_COUNT;
            EXECUTE format('CREATE TABLE %I PARTITION OF llm_calls FOR VALUES FROM (%L) TO (%L)', part, lo_tz, hi_tz);
            IF moved > 0 THEN
                INSERT INTO llm_calls SELECT * FROM llm_calls_moving;
            END IF;
            INSERT INTO llm_ledger_partitions (name, from_time, to_time) VALUES (part, lo_tz, hi_tz);
            created := created + 1;
        END IF;
        lo := hi;
    END LOOP;
    RETURN created;
END
$fn$;

-- Detaches and drops one partition of llm_calls (retention: whole partitions, never row deletes in llm_calls); forgets
-- its request ids; llm_ledger_state.raw_from moves to its upper bound. Only the oldest partition may go (raw_from is a
-- single boundary), and not while llm_calls_default holds rows before its end.
CREATE OR REPLACE FUNCTION llm_ledger_drop_partition(p_name text)
RETURNS void
LANGUAGE plpgsql AS
$fn$
DECLARE
    bounds llm_ledger_partitions;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('llmrouter-ledger-partitions'));
    SELECT * INTO bounds FROM llm_ledger_partitions WHERE name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'llm_ledger_drop_partition: % is not a ledger partition', p_name;
    END IF;
    IF EXISTS (SELECT 1 FROM llm_ledger_partitions WHERE from_time < bounds.from_time) THEN
        RAISE EXCEPTION 'llm_ledger_drop_partition: % is not the oldest partition', p_name;
    END IF;
    IF EXISTS (SELECT 1 FROM llm_calls_default WHERE completed_at < bounds.to_time) THEN
        RAISE EXCEPTION 'llm_ledger_drop_partition: llm_calls_default holds rows before %; run llm_ledger_ensure_partitions for them first', bounds.to_time;
    END IF;
    EXECUTE format('ALTER TABLE llm_calls DETACH PARTITION %I', p_name);
    EXECUTE format('DROP TABLE %I', p_name);
    DELETE FROM llm_call_ids WHERE completed_at < bounds.to_time;
    DELETE FROM llm_ledger_partitions WHERE name = p_name;
    UPDATE llm_ledger_state SET raw_from = greatest(coalesce(raw_from, bounds.to_time), bounds.to_time);
END
$fn$;

-- For a row inserted into llm_calls by hand (the repair of a quarantined row): records its request id and adds it to its
-- day's rollup, as the ledger's insert statement does. False, and nothing changed, when the id is already recorded
-- (then the row is a duplicate: delete it). Call it in the transaction that inserted the row.
CREATE OR REPLACE FUNCTION llm_ledger_adopt_row(p_request_id text)
RETURNS boolean
LANGUAGE plpgsql AS
$fn$
DECLARE
    r llm_calls;
BEGIN
    SELECT * INTO r FROM llm_calls WHERE request_id = p_request_id ORDER BY seq LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'llm_ledger_adopt_row: no row with request id %', p_request_id;
    END IF;
    INSERT INTO llm_call_ids (request_id, completed_at) VALUES (r.request_id, r.completed_at) ON CONFLICT (request_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO llm_usage_daily AS d (tenant_id, day, model, provider, project_id, key_id, calls, failed, estimated, prompt_tokens,
                                      completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd)
    VALUES (r.tenant_id, (r.completed_at AT TIME ZONE 'UTC')::date, r.model, r.provider, r.project_id, r.key_id, 1, CASE WHEN r.success THEN 0 ELSE 1 END,
            CASE WHEN r.usage_estimated THEN 1 ELSE 0 END, r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.reasoning_tokens,
            r.cache_write_tokens, r.cache_write_1h_tokens, r.cost_usd)
    ON CONFLICT (tenant_id, day, model, provider, project_id, key_id) DO UPDATE SET
        calls = d.calls + 1, failed = d.failed + EXCLUDED.failed, estimated = d.estimated + EXCLUDED.estimated,
        prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
        cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens, reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens,
        cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
        cache_write_1h_tokens = d.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
    RETURN true;
END
$fn$;

-- The upgrade from the unpartitioned table (with its rows), or nothing when llm_calls is partitioned already.
DO $migrate$
DECLARE
    oldest timestamptz;
    newest timestamptz;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('llm_calls')) IS DISTINCT FROM 'r' THEN
        RETURN;
    END IF;

    ALTER TABLE llm_calls RENAME TO llm_calls_unpartitioned;

    -- Same columns, defaults (seq keeps its sequence), NOT NULLs, checks and comments; no unique keys (see above) and
    -- no indexes yet: they are built once the rows are in (faster than maintaining them row by row).
    CREATE TABLE llm_calls (LIKE llm_calls_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)
        PARTITION BY RANGE (completed_at);
    IF to_regclass('llm_calls_seq_seq') IS NOT NULL THEN
        ALTER SEQUENCE llm_calls_seq_seq OWNED BY llm_calls.seq;
    END IF;
    COMMENT ON TABLE llm_calls IS 'Append-only billing ledger: one row per settled LLM call, partitioned by completed_at. Source of truth for budgets.';
    CREATE TABLE llm_calls_default PARTITION OF llm_calls DEFAULT;

    SELECT min(completed_at), max(completed_at) INTO oldest, newest FROM llm_calls_unpartitioned;
    PERFORM llm_ledger_ensure_partitions(greatest(coalesce(newest, now()), now() + interval '2 months'), least(coalesce(oldest, now()), now()));

    INSERT INTO llm_call_ids (request_id, completed_at)
    SELECT request_id, completed_at FROM llm_calls_unpartitioned ON CONFLICT (request_id) DO NOTHING;
    INSERT INTO llm_calls SELECT * FROM llm_calls_unpartitioned;
    INSERT INTO llm_usage_daily AS d (tenant_id, day, model, provider, project_id, key_id, calls, failed, estimated, prompt_tokens,
                                      completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd)
    SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date, model, provider, project_id, key_id, count(*), count(*) FILTER (WHERE NOT success),
           count(*) FILTER (WHERE usage_estimated), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
           sum(reasoning_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(cost_usd)
    FROM llm_calls_unpartitioned GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, day, model, provider, project_id, key_id) DO UPDATE SET
        calls = d.calls + EXCLUDED.calls, failed = d.failed + EXCLUDED.failed, estimated = d.estimated + EXCLUDED.estimated,
        prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
        cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens, reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens,
        cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
        cache_write_1h_tokens = d.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
    DROP TABLE llm_calls_unpartitioned;
END
$migrate$;

-- The indexes of 010, 013 and 015, on the parent (so on every partition, present and future). No-ops when they exist.
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_completed ON llm_calls (tenant_id, completed_at);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_model     ON llm_calls (tenant_id, model);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_provider  ON llm_calls (tenant_id, provider);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_action    ON llm_calls (tenant_id, action);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tags             ON llm_calls USING gin (tags);
CREATE INDEX IF NOT EXISTS ix_llm_calls_tenant_seq       ON llm_calls (tenant_id, tenant_seq);
CREATE INDEX IF NOT EXISTS ix_llm_calls_run              ON llm_calls (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_llm_calls_completed        ON llm_calls (completed_at, request_id);
CREATE INDEX IF NOT EXISTS llm_calls_project_seq  ON llm_calls (tenant_id, project_id, tenant_seq) WHERE project_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_key_seq      ON llm_calls (tenant_id, key_id, tenant_seq) WHERE key_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_end_user_seq ON llm_calls (tenant_id, end_user, tenant_seq) WHERE end_user IS NOT NULL;

-- Partitions ahead on every schema application too (the gateway also does this at start and daily).
DO $ahead$ BEGIN PERFORM llm_ledger_ensure_partitions(now() + interval '2 months'); END $ahead$;

COMMIT;
