-- Orleans.LlmRouter — 002: membership tables and queries for Microsoft.Orleans.Clustering.AdoNet
-- (Invariant "Npgsql"). Requires 001-orleans-main.sql.
--
-- Contract (fixed by Orleans): tables OrleansMembershipVersionTable / OrleansMembershipTable,
-- query keys MembershipReadRowKey, MembershipReadAllKey, InsertMembershipVersionKey,
-- InsertMembershipKey, UpdateMembershipKey, UpdateIAmAlivetimeKey, GatewaysQueryKey,
-- DeleteMembershipTableEntriesKey, CleanupDefunctSiloEntriesKey (all required) and
-- CleanupDefunctSiloEntryKey (optional, used when present), their @-parameters, and the
-- result column names. Conditional writes return a single integer column: > 0 = applied,
-- 0 = not applied (version mismatch / row missing / row already present), with nothing changed.
--
-- Our implementation: the membership "table version" row is locked FOR UPDATE and compared
-- with @Version before anything is written, so a failed write never has to be rolled back and
-- we do not depend on PL/pgSQL ASSERT (which plpgsql.check_asserts=off would silently disable).
--
-- SiloStatus values used below: 3 = Active, 6 = Dead.
-- Idempotent: tables IF NOT EXISTS, routines CREATE OR REPLACE, queries upserted.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

-- One row per cluster (DeploymentId = ClusterId); Version is the membership table's ETag.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- ---------------------------------------------------------------------------------------------
-- Routines (prefixed llmr_orleans_ so they cannot clash with Orleans' own scripts if both exist).
-- ---------------------------------------------------------------------------------------------

-- Creates the cluster's version row. 1 if created, 0 if it already existed.
CREATE OR REPLACE FUNCTION llmr_orleans_insert_membership_version(p_deployment_id varchar)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    n integer;
BEGIN
    IF p_deployment_id IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (p_deployment_id)
    ON CONFLICT (DeploymentId) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;

-- Inserts a silo row if the table version still equals p_version and the row does not exist;
-- bumps the version in the same transaction. 1 on success, 0 otherwise (nothing written).
CREATE OR REPLACE FUNCTION llmr_orleans_insert_membership(
    p_deployment_id  varchar,
    p_address        varchar,
    p_port           integer,
    p_generation     integer,
    p_silo_name      varchar,
    p_host_name      varchar,
    p_status         integer,
    p_proxy_port     integer,
    p_start_time     timestamptz,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    n integer;
BEGIN
    IF p_deployment_id IS NULL OR p_address IS NULL OR p_port IS NULL
       OR p_generation IS NULL OR p_version IS NULL THEN
        RETURN 0;
    END IF;

    -- Lock the version row only if it still carries the caller's ETag (re-checked after waiting).
    PERFORM 1
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment_id AND Version = p_version
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
         StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
         p_proxy_port, p_start_time, p_i_am_alive)
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;
    RETURN 1;
END
$fn$;

-- Updates a silo row's status / suspicions / heartbeat if the table version still equals
-- p_version; bumps the version. 1 on success, 0 otherwise (nothing written).
CREATE OR REPLACE FUNCTION llmr_orleans_update_membership(
    p_deployment_id  varchar,
    p_address        varchar,
    p_port           integer,
    p_generation     integer,
    p_status         integer,
    p_suspect_times  varchar,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    n integer;
BEGIN
    IF p_deployment_id IS NULL OR p_address IS NULL OR p_port IS NULL
       OR p_generation IS NULL OR p_version IS NULL THEN
        RETURN 0;
    END IF;

    PERFORM 1
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment_id AND Version = p_version
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipTable
    SET Status       = p_status,
        SuspectTimes = p_suspect_times,
        -- heartbeats are monotonic: never move IAmAliveTime backwards
        IAmAliveTime = GREATEST(IAmAliveTime, COALESCE(p_i_am_alive, IAmAliveTime))
    WHERE DeploymentId = p_deployment_id
      AND Address = p_address AND Port = p_port AND Generation = p_generation;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;
    RETURN 1;
END
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Query catalog. Upserted so re-applying the script also refreshes the text.
-- ---------------------------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('InsertMembershipVersionKey', '
SELECT llmr_orleans_insert_membership_version(@DeploymentId) AS row_count;
'),

('InsertMembershipKey', '
SELECT llmr_orleans_insert_membership(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
    @StartTime, @IAmAliveTime, @Version) AS row_count;
'),

('UpdateMembershipKey', '
SELECT llmr_orleans_update_membership(
    @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime,
    @Version) AS row_count;
'),

-- Heartbeat: touches only this silo''s row, never the table version. Result is not checked.
('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL
  AND Address = @Address AND @Address IS NOT NULL
  AND Port = @Port AND @Port IS NOT NULL
  AND Generation = @Generation AND @Generation IS NOT NULL;
'),

-- Version row always comes back (LEFT JOIN) so Orleans learns the ETag even with no silo row.
('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address AND @Address IS NOT NULL
      AND m.Port = @Port AND @Port IS NOT NULL
      AND m.Generation = @Generation AND @Generation IS NOT NULL
WHERE v.DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;
'),

('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;
'),

-- Gateways = silos with @Status (Active) that expose a client port.
('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL
  AND Status = @Status AND @Status IS NOT NULL
  AND ProxyPort > 0;
'),

('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;
DELETE FROM OrleansMembershipVersionTable
WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;
'),

-- Bulk pruning of long-dead silo rows (Dead = 6) older than the cutoff @IAmAliveTime.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL
  AND Status = 6
  AND IAmAliveTime < @IAmAliveTime
  AND StartTime < @IAmAliveTime;
'),

-- Optional per-row pruning: delete one Dead row only if it still holds the values the caller
-- read (so a concurrent change keeps it). Columns keep milliseconds, so the captured times are
-- compared within 1 ms in case the caller passes a full-precision DateTime.
('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = 6
  AND Address = @Address AND Port = @Port AND Generation = @Generation
  AND IAmAliveTime BETWEEN CAST(@IAmAliveTime AS timestamptz) - interval ''1 millisecond''
                       AND CAST(@IAmAliveTime AS timestamptz) + interval ''1 millisecond''
  AND StartTime BETWEEN CAST(@StartTime AS timestamptz) - interval ''1 millisecond''
                    AND CAST(@StartTime AS timestamptz) + interval ''1 millisecond''
  AND COALESCE(SuspectTimes, '''') = COALESCE(CAST(@SuspectTimes AS text), '''');
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;
