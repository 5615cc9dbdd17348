#!/usr/bin/env bash
# Runs a PostgreSQL-backed cluster as separate processes on loopback: N silos and one front end.
#   LLMROUTER_POSTGRES="Host=127.0.0.1;Port=5432;Username=llmrouter;Password=llmrouter;Database=llmrouter" \
#     deploy/local-cluster.sh start [silos]     # default 3 silos; front end on http://127.0.0.1:5080
#   deploy/local-cluster.sh status | stop
# Silo i listens on silo port 11110+i, gateway 30000+i, HTTP (health only) 5100+i. Logs and pids: $LLMROUTER_CLUSTER_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${LLMROUTER_CLUSTER_DIR:-/tmp/llmrouter-cluster}
cmd=${1:-start}
silos=${2:-3}

wait_ready() {
  local url=$1
  for _ in $(seq 1 120); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "not ready: $url" >&2
  return 1
}

start_process() {
  local name=$1; shift
  # From the build output, so the process reads its appsettings.json (logging, the dev admin key hash).
  ( cd "$dir/bin" && exec env "$@" dotnet Orleans.LlmRouter.Host.dll >"$dir/logs/$name.log" 2>&1 ) &
  echo "$! $name" >>"$dir/pids"
}

case "$cmd" in
  start)
    : "${LLMROUTER_POSTGRES:?set LLMROUTER_POSTGRES to an Npgsql connection string}"
    [ -s "$dir/pids" ] && { echo "already running (see $dir/pids); run stop first" >&2; exit 1; }
    mkdir -p "$dir/logs"
    : >"$dir/pids"
    dotnet build src/Orleans.LlmRouter.Host -c Release -o "$dir/bin" --nologo -v quiet
    deploy/apply-schema.sh "$LLMROUTER_POSTGRES"
    common=(LlmRouter__Storage=postgres LlmRouter__Clustering=postgres "LlmRouter__Postgres=$LLMROUTER_POSTGRES"
            LlmRouter__ClusterId=llmrouter-local LlmRouter__FastMembership=true "LlmRouter__ConfigPath=$PWD/config" "LlmRouter__SpoolDirectory=$dir/spool"
            # INSECURE, for a local cluster only: accept the shipped dev admin and tenant keys, keep the simulated models.
            LlmRouter__AllowDevKeys=true LlmRouter__AllowSimulated=true)
    for i in $(seq 1 "$silos"); do
      start_process "silo$i" "${common[@]}" LlmRouter__Role=silo "LlmRouter__SiloPort=$((11110 + i))" \
        "LlmRouter__GatewayPort=$((30000 + i))" "ASPNETCORE_URLS=http://127.0.0.1:$((5100 + i))"
    done
    for i in $(seq 1 "$silos"); do wait_ready "http://127.0.0.1:$((5100 + i))"; done
    start_process frontend "${common[@]}" LlmRouter__Role=frontend ASPNETCORE_URLS=http://127.0.0.1:5080
    wait_ready http://127.0.0.1:5080
    echo "cluster up: $silos silos, front end http://127.0.0.1:5080 (logs: $dir/logs)"
    ;;
  status)
    [ -f "$dir/pids" ] || { echo "not running"; exit 0; }
    while read -r pid name; do
      if kill -0 "$pid" 2>/dev/null; then echo "$name ($pid) running"; else echo "$name ($pid) stopped"; fi
    done <"$dir/pids"
    ;;
  stop)
    [ -f "$dir/pids" ] || exit 0
    while read -r pid _; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
    while read -r pid _; do
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    done <"$dir/pids"
    rm -f "$dir/pids"
    echo "stopped"
    ;;
  *)
    echo "usage: $0 start [silos] | status | stop" >&2
    exit 2
    ;;
esac
