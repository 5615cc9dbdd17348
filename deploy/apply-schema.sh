#!/usr/bin/env bash
# Applies deploy/sql/*.sql (in file-name order) to a PostgreSQL database with psql.
#
# Usage:
#   deploy/apply-schema.sh "Host=127.0.0.1;Port=5432;Username=llmrouter;Password=llmrouter;Database=llmrouter"
#   deploy/apply-schema.sh "postgresql://llmrouter:llmrouter@127.0.0.1:5432/llmrouter"
#   LLMROUTER_POSTGRES="Host=...;Database=..." deploy/apply-schema.sh
#   deploy/apply-schema.sh            # falls back to PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE
#
# The argument (or $LLMROUTER_POSTGRES) may be an Npgsql connection string (key=value;...),
# a postgres:// / postgresql:// URL, or a libpq "key=value key=value" string.
# Every script is idempotent, so running this again is safe.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sql_dir="${SQL_DIR:-$script_dir/sql}"

conn="${1:-${LLMROUTER_POSTGRES:-}}"

trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; s="${s%"${s##*[![:space:]]}"}"; printf '%s' "$s"; }

psql_target=()
if [[ -z "$conn" ]]; then
    : # rely on the PG* environment variables already set
elif [[ "$conn" == postgres://* || "$conn" == postgresql://* ]]; then
    psql_target=(-d "$conn")
elif [[ "$conn" == *";"* || "$conn" =~ ^[[:space:]]*([Hh]ost|[Ss]erver|[Uu]ser[[:space:]]*[Ii][Dd]|[Uu]sername)[[:space:]]*= ]]; then
    # Npgsql-style: Key=Value;Key=Value  (keys are case-insensitive; values may not contain ';')
    IFS=';' read -r -a parts <<< "$conn"
    for part in "${parts[@]}"; do
        part="$(trim "$part")"
        [[ -z "$part" || "$part" != *=* ]] && continue
        key="$(trim "${part%%=*}")"
        value="$(trim "${part#*=}")"
        # strip optional surrounding quotes
        if [[ ${#value} -ge 2 && ( ( "$value" == \"*\" ) || ( "$value" == \'*\' ) ) ]]; then
            value="${value:1:${#value}-2}"
        fi
        key_norm="$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]' | tr -d ' _')"
        case "$key_norm" in
            host|server|address|addr|datasource) export PGHOST="$value" ;;
            port) export PGPORT="$value" ;;
            username|user|userid|uid) export PGUSER="$value" ;;
            password|pwd|psw) export PGPASSWORD="$value" ;;
            database|db|initialcatalog) export PGDATABASE="$value" ;;
            sslmode) export PGSSLMODE="$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')" ;;
            timeout) export PGCONNECT_TIMEOUT="$value" ;;
            applicationname) export PGAPPNAME="$value" ;;
            *) ;; # pooling, multiplexing, etc. mean nothing to psql
        esac
    done
    # Npgsql accepts "host1,host2"; psql does too. "host:port" is Npgsql-only: split it.
    if [[ -n "${PGHOST:-}" && "$PGHOST" != *,* && "$PGHOST" =~ ^([^:]+):([0-9]+)$ ]]; then
        export PGHOST="${BASH_REMATCH[1]}"
        export PGPORT="${PGPORT:-${BASH_REMATCH[2]}}"
    fi
else
    psql_target=(-d "$conn")   # libpq keyword/value string
fi

shopt -s nullglob
files=()
while IFS= read -r f; do files+=("$f"); done < <(printf '%s\n' "$sql_dir"/*.sql | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "apply-schema: no .sql files in $sql_dir" >&2
    exit 1
fi

export PGAPPNAME="${PGAPPNAME:-llmrouter-apply-schema}"
# "already exists, skipping" notices are expected on re-runs; keep warnings and errors.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
for f in "${files[@]}"; do
    echo "apply-schema: $(basename "$f")"
    psql -X -q -v ON_ERROR_STOP=1 "${psql_target[@]}" -f "$f"
done
echo "apply-schema: done (${#files[@]} scripts)"
