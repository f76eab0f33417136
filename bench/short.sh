#!/usr/bin/env bash
# The short run of every reporting benchmark (CI's bench step): prints the figures and
# never fails the build on them. A benchmark that crashes or overruns its time is reported
# loudly (a banner at the end naming it, with its exit status) but does not fail the build
# either: the benchmarks share a loaded CI host with nothing pinned, so a slow or flaky
# figure is not a product defect, and correctness is what the test suite asserts.
# Usage: bash bench/short.sh [NAME ...]   (default: all of them, at most ~3 minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONUNBUFFERED=1

# name, time limit (s), arguments of the benchmark's short run.
BENCHES=(
  "fair_share|20|bench/fair_share.py"
  "log_latency|60|bench/log_latency.py --runs 1 --lines 10"
  "api_submit|40|bench/api_submit.py --seconds 3 --no-dry-run"
  "sandbox|40|bench/sandbox.py --runs 5 --only-start"
  "validate|45|bench/validate.py --runs 5 --trial-runs 2"
  "dataset_upload|30|bench/dataset_upload.py --gib 0.05"
  "guard_overhead|45|bench/guard_overhead.py --repeats 1 --only qa_exact_match"
  "e2e_latency|60|bench/e2e_latency.py --runs 1 --warmup 0"
)
# The whole step stops starting benchmarks once this much time is spent (they are then
# reported as skipped): a loaded host makes every figure slower, not the build longer.
BUDGET_S=${EVALPOD_BENCH_BUDGET_S:-180}
# Not here: bench/chaos.py (a soak of many minutes whose short form is tests/chaos) and
# bench/corpora.py (counts of verdicts, not a timing; tests/validator covers the corpora).

wanted=" $* "
failed=()
started_all=$(date +%s)
for entry in "${BENCHES[@]}"; do
  IFS='|' read -r name limit args <<<"$entry"
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then
    continue
  fi
  left=$(( BUDGET_S - ($(date +%s) - started_all) ))
  if [ "$left" -lt 10 ]; then
    echo "== bench $name: skipped, the step's ${BUDGET_S} s are spent"
    failed+=("$name (skipped: budget spent)")
    continue
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== bench $name: $args (load average $(cut -d' ' -f1 /proc/loadavg))"
  started=$(date +%s)
  # SIGINT to the benchmark's process group on overrun: its `finally` blocks and the
  # `evalpod up` it started stop cleanly (as on Ctrl-C); SIGKILL 15 s later if not.
  # shellcheck disable=SC2086  # the arguments are meant to split
  timeout -s INT --kill-after=15 "$limit" "$PY" $args >"/tmp/evalpod-bench-$name.log" 2>&1
  rc=$?
  # The figures are the last lines each benchmark prints; progress bars and logs go before.
  grep -v -e '^\s*$' -e 'it/s\]' "/tmp/evalpod-bench-$name.log" | tail -n 25
  echo "   ($name: exit $rc, $(( $(date +%s) - started )) s)"
  if [ "$rc" -ne 0 ]; then
    failed+=("$name (exit $rc$([ "$rc" -eq 124 ] && echo ": over its ${limit} s"))")
  fi
done
echo "== benchmarks done in $(( $(date +%s) - started_all )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! BENCHMARKS THAT CRASHED, OVERRAN OR WERE SKIPPED (not failing the build): ${failed[*]}"
  echo "!!! full output: /tmp/evalpod-bench-<name>.log"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi
exit 0
