#!/usr/bin/env bash
# Run every benchmark once (about 13 minutes on 2 cores) and print the summary table.
# Server pinned to CPU 0, clients to CPU 1 (BENCH_SERVER_CPU / BENCH_CLIENT_CPU to change).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PLAYHEAD_PYTHON:-$(command -v python3)}
export PLAYHEAD_PYTHON=$PY
status=0
step() { echo; echo "######## $*"; "$@" || status=1; }
step "$PY" bench/engine.py
step bench/ingest_wrk.sh            # ingest.json + sustained.json
step "$PY" bench/memory.py
step "$PY" bench/durability.py
step "$PY" bench/report_latency.py
step "$PY" bench/dashboard_paint.py
step "$PY" bench/startup.py
step "$PY" bench/metrics_cost.py         # metrics_cost.json (metrics on/off)
step "$PY" bench/enrichment.py
step "$PY" bench/aggregates.py        # about 5 minutes at its default 200,000 sessions
step "$PY" bench/scaling.py          # needs Redis and PostgreSQL on this machine
echo
"$PY" bench/summary.py
exit $status
