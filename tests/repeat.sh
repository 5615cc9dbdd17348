#!/usr/bin/env bash
# Runs one test project N times (built once) and prints how many runs passed, how many failed, and each failing
# test's name with the number of runs it failed in. For hunting flaky tests: run it under load (a second suite, or
# `--busy` to keep one core spinning) and with different seeds (xUnit's seed is printed per run and can be fixed with
# `-- xUnit.Seed=N` after the options).
#   tests/repeat.sh PROJECT N [--busy] [--filter EXPR] [-- extra dotnet test arguments]
# PROJECT is a folder under tests/ or a path to a test project, e.g. `tests/repeat.sh Integration 20`.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  sed -n 2,7p "$0"; exit 2
fi
project=$1; runs=$2; shift 2
[ -d "$project" ] || project=$(ls -d tests/*"$project"* 2>/dev/null | head -n 1)
[ -d "$project" ] || { echo "no such test project: $1" >&2; exit 2; }
busy=""; filter=(); extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --busy) busy=1 ;;
    --filter) filter=(--filter "$2"); shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
dotnet build "$project" -v q -nologo >/dev/null || { echo "build failed" >&2; exit 1; }
busy_pid=""
if [ -n "$busy" ]; then
  ( while :; do :; done ) & busy_pid=$!
  trap 'kill $busy_pid 2>/dev/null' EXIT
fi
logs=$(mktemp -d)
passed=0; failed=0
for i in $(seq 1 "$runs"); do
  if dotnet test "$project" --no-build "${filter[@]}" "${extra[@]}" >"$logs/run-$i.log" 2>&1; then
    passed=$((passed + 1)); echo "run $i: passed ($(grep -oE 'Passed: +[0-9]+' "$logs/run-$i.log" | awk '{print $2}') tests)"
  else
    failed=$((failed + 1)); echo "run $i: FAILED: $(grep -oE '^\s+Failed [^ ]+' "$logs/run-$i.log" | awk '{print $2}' | sort -u | tr '\n' ' ')"
  fi
done
echo "== $project: $passed passed, $failed failed of $runs runs (logs in $logs)"
if [ "$failed" -gt 0 ]; then
  echo "failing tests (runs failed):"
  grep -hoE '^\s+Failed [^ ]+' "$logs"/run-*.log | awk '{print $2}' | sort | uniq -c | sort -rn
  exit 1
fi
