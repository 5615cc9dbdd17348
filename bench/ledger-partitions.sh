#!/usr/bin/env bash
# The ledger at a year of traffic (issue 33): loads synthetic rows across 13 monthly partitions of llm_calls (with
# their request ids and rollups, as the ledger writes them) and the same rows into an unpartitioned copy shaped like
# the ledger before 016 (llm_calls_flat: primary key on request_id, unique seq, the eleven indexes of 010/013/015),
# then times, best of 3:
#   1. the usage report for one tenant's month    (flat rows | partitioned rows | rollups)
#   2. the reconcile sums of the busiest tenant    (lifetime, this month, today; rollups: closed days + today's rows)
#   3. the console's 30-day overview of every tenant (per day)
#   4. sustained ledger inserts per second (pgbench, 2 clients, batches of 512 rows: the ledger's own statement with
#      the fence, llm_call_ids, the row and the rollup upsert, vs the pre-016 INSERT ... ON CONFLICT (request_id) into
#      the flat table with the fence)
#
# Usage: bench/ledger-partitions.sh [ROWS] [SECONDS]     (default 2000000 rows, 20 s of inserts per table)
# Needs psql and pgbench, and LLMROUTER_POSTGRES (the bench creates and drops its own database, llmrouter_bench_ledger).
# Disk: about 1.2 KB per row for both copies with their indexes, ids and rollups (50 M rows: about 60 GB).
set -euo pipefail

rows="${1:-2000000}"
seconds="${2:-20}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conn="${LLMROUTER_POSTGRES:-Host=127.0.0.1;Port=5432;Username=llmrouter;Password=llmrouter;Database=llmrouter}"
db=llmrouter_bench_ledger
fence=1280070214 # PostgresLedger.TenantFenceKey, 0x4c4c5246

# Npgsql key=value;... -> PG* variables (only what the bench needs).
IFS=';' read -r -a parts <<< "$conn"
for part in "${parts[@]}"; do
    key="$(printf '%s' "${part%%=*}" | tr '[:upper:]' '[:lower:]' | tr -d ' ')"; value="${part#*=}"
    case "$key" in
        host|server) export PGHOST="$value" ;; port) export PGPORT="$value" ;;
        username|user|userid) export PGUSER="$value" ;; password) export PGPASSWORD="$value" ;;
        database) admin_db="$value" ;;
    esac
done
admin_db="${admin_db:-postgres}"

psql -X -q -d "$admin_db" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
trap 'psql -X -q -d "$admin_db" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
"$here/../deploy/apply-schema.sh" "Host=${PGHOST:-127.0.0.1};Port=${PGPORT:-5432};Username=${PGUSER};Password=${PGPASSWORD:-};Database=$db" > /dev/null
export PGDATABASE=$db
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "ledger bench: $rows rows over 13 months (2025-12 .. 2026-12), 100 tenants (t0 = 20 % of the rows, with 3 projects and 4 keys)"
start=$(date +%s)
q <<SQL
SELECT llm_ledger_ensure_partitions('2026-12-31 00:00+00', '2025-12-01 00:00+00');
-- The indexes are built after the load (as the migration does), on the partitions and on the flat copy alike.
DROP INDEX ix_llm_calls_tenant_completed, ix_llm_calls_tenant_model, ix_llm_calls_tenant_provider, ix_llm_calls_tenant_action,
           ix_llm_calls_tags, ix_llm_calls_tenant_seq, ix_llm_calls_run, ix_llm_calls_completed, llm_calls_project_seq,
           llm_calls_key_seq, llm_calls_end_user_seq;
-- Rows in generation order; completed_at spread evenly over 13 months; t0 is the busy tenant.
INSERT INTO llm_calls (request_id, tenant_id, tenant_seq, provider, model, action, tags, prompt_tokens, completion_tokens,
                       cached_tokens, reasoning_tokens, cost_usd, latency_ms, success, attempts, started_at, completed_at,
                       project_id, key_id, end_user)
SELECT 'req-' || g, CASE WHEN g % 5 = 0 THEN 't0' ELSE 't' || (g % 99 + 1) END, g, 'p' || (g % 7 % 3), 'model-' || (g % 7),
       'chat', ARRAY['team-' || (g % 11)], 200 + g % 800, 50 + g % 300, g % 100, g % 40, (200 + g % 800) * 0.0000025,
       100 + g % 900, g % 50 <> 0, 1,
       timestamptz '2025-12-01 00:00+00' + (g::float8 / $rows) * interval '395 days',
       timestamptz '2025-12-01 00:00+00' + (g::float8 / $rows) * interval '395 days',
       CASE WHEN g % 5 = 0 THEN 'pj' || (g % 3) END, CASE WHEN g % 5 = 0 THEN 'k' || (g % 4) END,
       CASE WHEN g % 5 = 0 THEN 'u' || (g % 1000) END
FROM generate_series(1, $rows) g;
INSERT INTO llm_call_ids (request_id, completed_at) SELECT request_id, completed_at FROM llm_calls;
INSERT INTO llm_usage_daily (tenant_id, day, model, provider, project_id, key_id, calls, failed, estimated, prompt_tokens, completion_tokens,
                             cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd)
SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date, model, provider, project_id, key_id, count(*), count(*) FILTER (WHERE NOT success),
       count(*) FILTER (WHERE usage_estimated), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
       sum(reasoning_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(cost_usd)
FROM llm_calls GROUP BY 1, 2, 3, 4, 5, 6;
-- The ledger before 016: one table, unique request id and seq, the eleven indexes.
CREATE TABLE llm_calls_flat (LIKE llm_calls INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO llm_calls_flat SELECT * FROM llm_calls;
ALTER TABLE llm_calls_flat ADD PRIMARY KEY (request_id), ADD UNIQUE (seq);
SQL
for t in llm_calls llm_calls_flat; do
    q <<SQL
CREATE INDEX ON $t (tenant_id, completed_at);
CREATE INDEX ON $t (tenant_id, model);
CREATE INDEX ON $t (tenant_id, provider);
CREATE INDEX ON $t (tenant_id, action);
CREATE INDEX ON $t USING gin (tags);
CREATE INDEX ON $t (tenant_id, tenant_seq);
CREATE INDEX ON $t (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX ON $t (completed_at, request_id);
CREATE INDEX ON $t (tenant_id, project_id, tenant_seq) WHERE project_id IS NOT NULL;
CREATE INDEX ON $t (tenant_id, key_id, tenant_seq) WHERE key_id IS NOT NULL;
CREATE INDEX ON $t (tenant_id, end_user, tenant_seq) WHERE end_user IS NOT NULL;
SQL
done
q -c "VACUUM ANALYZE"
echo "loaded in $(( $(date +%s) - start )) s"
q -At -c "SELECT 'partitioned: ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) || ' in ' || count(*) || ' partitions' FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'llm_calls'::regclass" \
      -c "SELECT 'flat:        ' || pg_size_pretty(pg_total_relation_size('llm_calls_flat'))" \
      -c "SELECT 'request ids: ' || pg_size_pretty(pg_total_relation_size('llm_call_ids')) || ', rollups: ' || pg_size_pretty(pg_total_relation_size('llm_usage_daily')) || ' (' || count(*) || ' rows)' FROM llm_usage_daily"

# Best of 3 wall-clock milliseconds of one statement (psql \timing).
best() {
    local sql="$1" t b=""
    for _ in 1 2 3; do
        t=$(printf '\\timing on\n%s\n' "$sql" | psql -X -q -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
        if [[ -z "$b" ]] || awk -v a="$t" -v b="$b" 'BEGIN{exit !(a<b)}'; then b="$t"; fi
    done
    printf '%10.1f ms' "$b"
}

# "Today" is 2026-12-30 (the last day of the data); this month is December 2026.
report() { # $1 = table
    echo "SELECT (completed_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE NOT success), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
          FROM $1 WHERE tenant_id = 't0' AND completed_at >= '2026-06-01 00:00+00' AND completed_at < '2026-07-01 00:00+00' GROUP BY 1 ORDER BY 1;"
}
reconcile() {
    echo "SELECT count(*), sum(prompt_tokens + completion_tokens), sum(cost_usd),
                 count(*) FILTER (WHERE completed_at >= '2026-12-01 00:00+00'), sum(cost_usd) FILTER (WHERE completed_at >= '2026-12-01 00:00+00'),
                 count(*) FILTER (WHERE completed_at >= '2026-12-30 00:00+00'), sum(cost_usd) FILTER (WHERE completed_at >= '2026-12-30 00:00+00')
          FROM $1 WHERE tenant_id = 't0';"
}
overview() {
    echo "SELECT (completed_at AT TIME ZONE 'UTC')::date, count(*), sum(prompt_tokens + completion_tokens), sum(cost_usd)
          FROM $1 WHERE completed_at >= '2026-12-01 00:00+00' AND completed_at < '2026-12-31 00:00+00' GROUP BY 1 ORDER BY 1;"
}
roll_report="SELECT day, sum(calls), sum(failed), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd) FROM llm_usage_daily
              WHERE tenant_id = 't0' AND day >= '2026-06-01' AND day < '2026-07-01' GROUP BY 1 ORDER BY 1;"
# The audit's shape (PostgresLedger.BalanceAsync): closed days from the rollups, the open day (2026-12-30) from rows, one statement.
roll_reconcile="SELECT * FROM
    (SELECT count(*), sum(prompt_tokens + completion_tokens), sum(cost_usd) FROM llm_calls WHERE tenant_id = 't0' AND completed_at >= '2026-12-30 00:00+00') a,
    (SELECT sum(calls) FILTER (WHERE day < '2026-12-30'), sum(prompt_tokens + completion_tokens) FILTER (WHERE day < '2026-12-30'), sum(cost_usd) FILTER (WHERE day < '2026-12-30'),
            sum(cost_usd) FILTER (WHERE day >= '2026-12-01' AND day < '2026-12-30') FROM llm_usage_daily WHERE tenant_id = 't0') b;"
roll_overview="SELECT day, sum(calls), sum(prompt_tokens + completion_tokens), sum(cost_usd) FROM llm_usage_daily
               WHERE day >= '2026-12-01' AND day < '2026-12-31' GROUP BY 1 ORDER BY 1;"

printf '\n%-36s %13s %13s %13s\n' "query (best of 3)" "flat rows" "partitioned" "rollups"
printf '%-36s %s %s %s\n' "usage report, t0, June 2026" "$(best "$(report llm_calls_flat)")" "$(best "$(report llm_calls)")" "$(best "$roll_report")"
printf '%-36s %s %s %s\n' "reconcile sums, t0 (20 % of rows)" "$(best "$(reconcile llm_calls_flat)")" "$(best "$(reconcile llm_calls)")" "$(best "$roll_reconcile")"
printf '%-36s %s %s %s\n' "30-day overview, all tenants" "$(best "$(overview llm_calls_flat)")" "$(best "$(overview llm_calls)")" "$(best "$roll_overview")"

# Sustained inserts: batches of 512 rows dated "now" (2026-12-15), each batch one statement, two clients.
work="$(mktemp -d)"
cat > "$work/partitioned.sql" <<SQL
WITH u AS MATERIALIZED (
    SELECT md5(random()::text || clock_timestamp()::text || g) AS r, 't' || (g % 50) AS t, g::bigint AS s, timestamptz '2026-12-15 12:00+00' + g * interval '1 ms' AS ca,
           'pj' || (g % 3) AS pj, 'k' || (g % 4) AS ky
    FROM generate_series(1, 512) g
    WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared($fence, h) FROM (SELECT DISTINCT hashtext('t' || (x % 50)) AS h FROM generate_series(1, 512) x ORDER BY h) k) f) >= 0),
ids AS (INSERT INTO llm_call_ids (request_id, completed_at) SELECT r, ca FROM u ON CONFLICT (request_id) DO NOTHING RETURNING request_id),
ins AS (INSERT INTO llm_calls (request_id, tenant_id, tenant_seq, provider, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, success, started_at, completed_at, project_id, key_id)
        SELECT r, t, s, 'p1', 'model-' || (s % 7), 300, 80, 0.00075, 120, true, ca, ca, pj, ky FROM u JOIN ids ON ids.request_id = u.r
        RETURNING tenant_id, completed_at, model, provider, project_id, key_id, success, usage_estimated, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd)
INSERT INTO llm_usage_daily AS d (tenant_id, day, model, provider, project_id, key_id, calls, failed, estimated, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd)
SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date, model, provider, project_id, key_id, count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE usage_estimated),
       sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(cost_usd)
FROM ins GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (tenant_id, day, model, provider, project_id, key_id) DO UPDATE SET calls = d.calls + EXCLUDED.calls, failed = d.failed + EXCLUDED.failed, estimated = d.estimated + EXCLUDED.estimated,
    prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens, cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens,
    reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens, cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
    cache_write_1h_tokens = d.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
SQL
cat > "$work/flat.sql" <<SQL
INSERT INTO llm_calls_flat (request_id, tenant_id, tenant_seq, provider, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, success, started_at, completed_at, project_id, key_id)
SELECT r, t, s, 'p1', 'model-' || (s % 7), 300, 80, 0.00075, 120, true, ca, ca, pj, ky
FROM (SELECT md5(random()::text || clock_timestamp()::text || g) AS r, 't' || (g % 50) AS t, g::bigint AS s, timestamptz '2026-12-15 12:00+00' + g * interval '1 ms' AS ca,
             'pj' || (g % 3) AS pj, 'k' || (g % 4) AS ky
      FROM generate_series(1, 512) g
      WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared($fence, h) FROM (SELECT DISTINCT hashtext('t' || (x % 50)) AS h FROM generate_series(1, 512) x ORDER BY h) k) f) >= 0) u
ON CONFLICT (request_id) DO NOTHING;
SQL
echo
for target in flat partitioned; do
    tps=$(pgbench -n -c 2 -j 2 -T "$seconds" -M prepared -f "$work/$target.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    printf 'sustained inserts, %-12s %8.0f rows/s  (%s batches/s of 512, 2 clients, %s s)\n' "$target:" "$(awk -v t="$tps" 'BEGIN{print t*512}')" "$tps" "$seconds"
done
rm -rf "$work"
