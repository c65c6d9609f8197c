#!/usr/bin/env bash
# Ingest benchmark with wrk: baseline / Playhead / baseline closed loop at 64 and 256
# connections, open-loop fixed rates, then (unless SKIP_SUSTAINED=1) the 60 s sustained run.
# Server pinned to CPU 0, clients to CPU 1. Results: bench/results/ingest.json, sustained.json.
# Usage: bench/ingest_wrk.sh [--duration 20] [--rates 5000,10000] ...
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PLAYHEAD_PYTHON:-$(command -v python3)}
if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk (Debian package)"
    apt-get update -qq && apt-get install -y -qq wrk
fi
"$PY" bench/ingest.py "$@"
if [ "${SKIP_SUSTAINED:-0}" != "1" ]; then
    "$PY" bench/sustained.py
fi
