#!/usr/bin/env bash
# Sets up a fresh machine, starts `evalpod up`, and runs an example evaluation end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
EVALPOD_EXTRAS=runtime bash scripts/setup.sh
export EVALPOD_HOME="${EVALPOD_HOME:-$PWD/.evalpod}"
export EVALPOD_URL="http://127.0.0.1:${EVALPOD_PORT:-8000}"
log="$EVALPOD_HOME/up.log"
mkdir -p "$EVALPOD_HOME"
.venv/bin/evalpod up --port "${EVALPOD_PORT:-8000}" >"$log" 2>&1 &
up_pid=$!
trap 'kill -INT $up_pid 2>/dev/null; wait $up_pid 2>/dev/null || true' EXIT
echo "== waiting for evalpod up (log: $log)"
for _ in $(seq 1 600); do
  .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$EVALPOD_URL/api/v1/health" >/dev/null 2>&1 && break
  kill -0 $up_pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
cat "$log"
echo "== submitting examples/qa_exact_match.py to tiny-gpt2"
.venv/bin/evalpod submit examples/qa_exact_match.py --model tiny-gpt2 --follow
if [ "${EVALPOD_KEEP_RUNNING:-0}" = 1 ]; then
  echo "== evalpod is still up at $EVALPOD_URL (Ctrl-C to stop)"
  wait $up_pid
fi
