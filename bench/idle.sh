#!/usr/bin/env bash
# An idle gateway's CPU (issue 26): starts the embedded gateway (Release, the shipped config, in memory) as the README
# does, lets it warm up, then reads its CPU time (user + system, /proc/PID/stat) over a window with no traffic, once
# as shipped and once with the Orleans dashboard off (LlmRouter:Console:Dashboard=false). Prints % of one core.
# Usage: bench/idle.sh [WARMUP_SECONDS] [WINDOW_SECONDS]   (default 90 and 60; IDLE_SHIPPED_ONLY=1 skips the second). Linux only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
warmup="${1:-90}"; window="${2:-60}"; port=5189
dotnet build -c Release --nologo -v quiet src/Orleans.LlmRouter.Host >/dev/null
hz=$(getconf CLK_TCK)
measure() {
  dotnet run -c Release --no-build --project src/Orleans.LlmRouter.Host -- --urls "http://127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  local runner=$! pid=""
  for _ in $(seq 1 60); do
    pid=$(pgrep -f "Release/net10.0/Orleans.LlmRouter.Host --urls http://127.0.0.1:$port" | head -n 1 || true)
    [ -n "$pid" ] && break; sleep 1
  done
  [ -n "$pid" ] || { echo "the gateway did not start" >&2; kill "$runner" 2>/dev/null; exit 1; }
  sleep "$warmup"
  local t0 t1
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep "$window"; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$runner" 2>/dev/null || true
  awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$window" -v what="${1:-as shipped}" 'BEGIN { printf "%-40s %5.2f %% of a core (%d ticks in %d s)\n", what, 100 * d / hz / w, d, w }'
}
measure
[ "${IDLE_SHIPPED_ONLY:-}" = 1 ] || measure --LlmRouter:Console:Dashboard=false
