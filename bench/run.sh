#!/usr/bin/env bash
# One command: build Release, start the mock upstream, a bare YARP proxy and the gateway on loopback, measure side by side.
#   bench/run.sh            full run (a few minutes)
#   bench/run.sh --quick    smoke run (about a minute)
#   bench/run.sh --baseline REF --targets yarp,gateway,gateway-baseline    this build against commit REF, in one run
#   bench/run.sh --soak MINUTES [--targets gateway|gateway-pg] [--rate R]   mixed traffic, figures every minute (bench/README.md)
#   bench/run.sh --streams N    N concurrent slow streams through one embedded gateway and directly to the mock
#   bench/run.sh --cache        the response cache: hit against miss against no cache, one embedded gateway (mock answers in 20 ms)
# Options: --duration S, --warmup S (closed-loop warm-up per target, default 20; 2 with --quick), --connections N, --rate R, --stream-rate R, --tenants N, --hot-connections N (default 96), --targets mock,yarp,gateway,gateway-pg,portkey.
#   --portkey   also measure Portkey's open-source gateway (npm @portkey-ai/gateway, installed into bench/.portkey) on the
#               same mock; or point PORTKEY_GATEWAY at an installed build/start-server.js.
# With LLMROUTER_POSTGRES set (and the schema applied: deploy/apply-schema.sh "$LLMROUTER_POSTGRES"), the gateway is also
# measured with PostgreSQL storage and ledger. Needs wrk (Debian: apt-get install -y wrk) for the closed-loop runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq wrk >/dev/null 2>&1 || echo "wrk could not be installed: closed-loop runs will be skipped" >&2
fi
if [[ " $* " == *" --portkey "* && -z "${PORTKEY_GATEWAY:-}" ]]; then
  if [ ! -f bench/.portkey/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
    mkdir -p bench/.portkey
    npm install --prefix bench/.portkey --no-audit --no-fund --ignore-scripts @portkey-ai/gateway@1.15.2 >/dev/null
  fi
  export PORTKEY_GATEWAY="$PWD/bench/.portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
fi
# --baseline REF: also measure the gateway built from commit REF (a detached worktree outside the repo), as target
# gateway-baseline, and report this build against it in the same run.
args=()
baseline_ref=""
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) baseline_ref="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -n "$baseline_ref" ]; then
  sha=$(git rev-parse --verify "$baseline_ref^{commit}")
  dir="${TMPDIR:-/tmp}/llmrouter-bench-baseline-$sha"
  if [ ! -d "$dir" ]; then
    git worktree prune
    git worktree add --detach "$dir" "$sha" >/dev/null
  fi
  dotnet build -c Release --nologo -v quiet "$dir/src/Orleans.LlmRouter.Host" >/dev/null
  export LLMROUTER_BENCH_BASELINE="$dir"
fi
for p in src/Orleans.LlmRouter.Host testassets/Orleans.LlmRouter.MockUpstream bench/Orleans.LlmRouter.Bench.Proxy bench/Orleans.LlmRouter.Bench; do
  dotnet build -c Release --nologo -v quiet "$p" >/dev/null
done
exec dotnet bench/Orleans.LlmRouter.Bench/bin/Release/net10.0/Orleans.LlmRouter.Bench.dll ${args[@]+"${args[@]}"}
