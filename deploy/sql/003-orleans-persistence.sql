-- Orleans.LlmRouter — 003: grain state table and queries for Microsoft.Orleans.Persistence.AdoNet
-- (Invariant "Npgsql"). Requires 001-orleans-main.sql. Requires PostgreSQL >= 15 (NULLS NOT DISTINCT).
--
-- Contract (fixed by Orleans): query keys WriteToStorageKey, ReadFromStorageKey, ClearStorageKey
-- (required) and DeleteStorageKey (required only with DeleteStateOnClear = true); parameters
--   @GrainIdHash int, @GrainIdN0 bigint, @GrainIdN1 bigint, @GrainTypeHash int,
--   @GrainTypeString text, @GrainIdExtensionString text|null, @ServiceId text,
--   @GrainStateVersion int|null (the ETag), @PayloadBinary bytea (write only);
-- result columns: ReadFromStorageKey -> PayloadBinary, Version (by name);
-- WriteToStorageKey -> NewGrainStateVersion; Clear/Delete -> the new version in column 0.
-- A write/clear that does not apply must return the caller's version unchanged, NULL or no row:
-- Orleans then raises InconsistentStateException (optimistic concurrency on the ETag).
--
-- How keys map: integer keys -> N1 (N0 = 0); Guid keys -> N0/N1; either may carry a key
-- extension in GrainIdExtensionString. Any other key (string keys) -> N0 = N1 = 0 and the whole
-- key in GrainIdExtensionString. A string key that parses as a Guid or as hexadecimal integer is
-- stored as a Guid/integer key instead, hence the project rule to prefix string keys ("t:acme").
--
-- Our implementation adds a unique index over the full natural key (NULLS NOT DISTINCT), so two
-- activations racing to create the same state cannot both insert: the loser gets no version back.
-- Idempotent: tables/indexes IF NOT EXISTS, routines CREATE OR REPLACE, queries upserted.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('orleans-llmrouter-schema')); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer       NOT NULL,
    GrainIdN0              bigint        NOT NULL,
    GrainIdN1              bigint        NOT NULL,
    GrainTypeHash          integer       NOT NULL,
    GrainTypeString        varchar(512)  NOT NULL,
    GrainIdExtensionString varchar(1024) NULL,
    ServiceId              varchar(150)  NOT NULL,
    PayloadBinary          bytea         NULL,
    ModifiedOn             timestamptz   NOT NULL DEFAULT now(),
    Version                integer       NULL
);

-- Natural key; also serves every lookup below (leading columns are the two hashes).
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Key
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId,
                       GrainTypeString, GrainIdExtensionString)
    NULLS NOT DISTINCT;

-- Writes a grain's state.
--   p_version NULL     -> first write: insert version 1, or NULL if a row already exists.
--   p_version NOT NULL -> update only if the stored version equals it: returns version + 1,
--                         or p_version unchanged when it did not apply.
CREATE OR REPLACE FUNCTION llmr_orleans_write_to_storage(
    p_grain_id_hash  integer,
    p_grain_id_n0    bigint,
    p_grain_id_n1    bigint,
    p_grain_type_hash integer,
    p_grain_type     varchar,
    p_grain_id_ext   varchar,
    p_service_id     varchar,
    p_version        integer,
    p_payload        bytea)
RETURNS TABLE (NewGrainStateVersion integer)
LANGUAGE plpgsql AS
$fn$
DECLARE
    v integer;
BEGIN
    IF p_version IS NOT NULL THEN
        UPDATE OrleansStorage s
        SET PayloadBinary = p_payload,
            ModifiedOn    = now(),
            Version       = s.Version + 1
        WHERE s.GrainIdHash = p_grain_id_hash
          AND s.GrainTypeHash = p_grain_type_hash
          AND s.GrainIdN0 = p_grain_id_n0
          AND s.GrainIdN1 = p_grain_id_n1
          AND s.ServiceId = p_service_id
          AND s.GrainTypeString = p_grain_type
          AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_grain_id_ext
          AND s.Version = p_version
        RETURNING s.Version INTO v;
        RETURN QUERY SELECT COALESCE(v, p_version);
        RETURN;
    END IF;

    INSERT INTO OrleansStorage AS s
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
         GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
    VALUES
        (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type,
         p_grain_id_ext, p_service_id, p_payload, now(), 1)
    ON CONFLICT (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId,
                 GrainTypeString, GrainIdExtensionString) DO NOTHING
    RETURNING s.Version INTO v;
    RETURN QUERY SELECT v;   -- NULL when another activation created it first
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('WriteToStorageKey', '
SELECT NewGrainStateVersion
FROM llmr_orleans_write_to_storage(
    @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
    @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);
'),

-- PayloadBinary NULL with a Version = cleared state (record does not exist, ETag kept).
('ReadFromStorageKey', '
SELECT PayloadBinary, ModifiedOn, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
'),

-- Clear keeps the row (and the version sequence) but drops the payload.
('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = now(),
    Version = Version + 1
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND Version = @GrainStateVersion AND @GrainStateVersion IS NOT NULL
RETURNING Version AS NewGrainStateVersion;
'),

-- Used instead of ClearStorageKey when DeleteStateOnClear = true; returns version + 1 of the
-- deleted row (Orleans compares it with the ETag, then forgets the ETag).
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND Version = @GrainStateVersion AND @GrainStateVersion IS NOT NULL
RETURNING Version + 1 AS NewGrainStateVersion;
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;
