-- Orleans.LlmRouter — 018: the response cache (issue 27).
--
-- llm_calls.cache: how the response cache served the call — 'hit' or 'coalesced' (answered without an upstream call of
-- its own), 'miss' (looked up, called upstream); null when the cache was not used. llm_calls.saved_usd: on a hit, the
-- upstream cost it saved. llm_usage_daily keeps their sums per day (cache_hits, saved_usd) for usage reports.
--
-- llm_cache_entries: stored answers per namespace (a tenant's, 't:<tenant>', or a shared one, 's:<name>') and request
-- fingerprint, each with its expiry and last use; a namespace is kept under its size cap by evicting the least recently
-- used. llm_cache_vectors: for tenants with a semantic cache, the embedding of the request behind each stored answer,
-- searched by cosine similarity within the namespace and the request's scope (route and parameters). Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS cache text;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS saved_usd numeric(20, 10) NOT NULL DEFAULT 0;
COMMENT ON COLUMN llm_calls.cache IS 'How the response cache served the call: hit, coalesced, miss; null when not cached.';
COMMENT ON COLUMN llm_calls.saved_usd IS 'On a cache hit: the upstream cost it saved, in USD.';

ALTER TABLE llm_usage_daily ADD COLUMN IF NOT EXISTS cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE llm_usage_daily ADD COLUMN IF NOT EXISTS saved_usd numeric(20, 10) NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS llm_cache_entries
(
    namespace    text        NOT NULL,
    key          text        NOT NULL,
    body         bytea       NOT NULL,
    size_bytes   integer     NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    CONSTRAINT pk_llm_cache_entries PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS ix_llm_cache_entries_lru ON llm_cache_entries (namespace, last_used_at);
CREATE INDEX IF NOT EXISTS ix_llm_cache_entries_expiry ON llm_cache_entries (expires_at);
CREATE TABLE IF NOT EXISTS llm_cache_vectors
(
    namespace  text        NOT NULL,
    key        text        NOT NULL,
    scope      text        NOT NULL,
    vector     real[]      NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT pk_llm_cache_vectors PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS ix_llm_cache_vectors_scope ON llm_cache_vectors (namespace, scope);
CREATE INDEX IF NOT EXISTS ix_llm_cache_vectors_age ON llm_cache_vectors (namespace, created_at);
COMMENT ON TABLE llm_cache_vectors IS 'The semantic cache: the unit-length embedding of the request behind each stored answer (scope: the fingerprint of its route and parameters without its messages), the latest max_entries per namespace.';

COMMENT ON TABLE llm_cache_entries IS 'The response cache: one stored answer per namespace and request fingerprint, with its expiry and last use (LRU per namespace).';

COMMIT;
