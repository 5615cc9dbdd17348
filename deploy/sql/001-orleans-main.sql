-- Orleans.LlmRouter — 001: shared Orleans ADO.NET query catalog (PostgreSQL >= 15).
--
-- Written for this project from Orleans' documented ADO.NET contract:
--   * every Orleans ADO.NET provider loads its SQL from a table named OrleansQuery with the
--     columns QueryKey / QueryText (it runs "SELECT QueryKey, QueryText FROM OrleansQuery ...");
--   * each query is addressed by a fixed key (e.g. 'WriteToStorageKey') and receives fixed,
--     named parameters (@DeploymentId, @GrainIdHash, ...); result columns are read by name;
--   * everything else (types, indexes, routines, locking) is ours to choose.
--
-- Idempotent: safe to apply any number of times. Pure SQL (no psql meta-commands), so test
-- fixtures may also run the file through Npgsql as one batch.

BEGIN;

-- Serialise concurrent schema applications (parallel test fixtures, several deploy jobs).
DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

COMMENT ON TABLE OrleansQuery IS
    'Orleans ADO.NET query catalog: providers read QueryText by QueryKey at start-up. Managed by deploy/sql/*.sql.';

COMMIT;
