#!/usr/bin/env bash
# Measures the server under each abuse of docs/benchmarks.md ("Under abuse"), on loopback:
# peak RSS, /healthz latency and a legitimate agent's API calls while the abuse runs.
#
#   cargo build --release -p parley -p loadgen
#   crates/loadgen/scripts/abuse.sh [target/release] [sqlite|postgres]
#
# For each scenario a fresh `parley serve` (default settings) starts on 127.0.0.1:18081
# with a temporary data directory (SQLite, or the database in $BENCH_POSTGRES_URL, dropped
# and recreated), so every peak starts from an idle process. Attackers connect from
# 127.0.0.10–127.0.0.29, the probe and the legitimate agent from 127.0.0.2. Reports go to
# the terminal and to $OUT/<scenario>.txt (default a temporary dir).
#
# Environment (defaults in brackets): SECONDS_EACH [20], SIGNINS [300], IDLE [5000],
# SLOWLORIS [1000], UPLOADS [20], UPLOAD_MIB [40].
set -euo pipefail

BIN=${1:-target/release}
BACKEND=${2:-sqlite}
SECONDS_EACH=${SECONDS_EACH:-20}
SIGNINS=${SIGNINS:-300}
IDLE=${IDLE:-5000}
SLOWLORIS=${SLOWLORIS:-1000}
UPLOADS=${UPLOADS:-20}
UPLOAD_MIB=${UPLOAD_MIB:-40}
PORT=18081
URL=http://127.0.0.1:$PORT
ROOT=$(mktemp -d /var/tmp/parley-abuse.XXXXXX)
OUT=${OUT:-$ROOT/reports}
mkdir -p "$OUT"
ATTACKERS=$(seq -s, -f '127.0.0.%g' 10 29)
PID=

stop_server() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
  fi
}
trap stop_server EXIT

start_server() {
  local data=$ROOT/$1
  mkdir -p "$data"
  if [ "$BACKEND" = postgres ]; then
    PG=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/loadgen_abuse}
    psql "${PG%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"${PG##*/}\"" -c "CREATE DATABASE \"${PG##*/}\""
    export PARLEY_DATABASE_URL=$PG
  fi
  "$BIN/parley" --data-dir "$data" admin create --email bench@example.com \
    --password 'benchmark-pass' >"$data/admin.txt"
  TOKEN=$(sed -n 's/^api_access_token=//p' "$data/admin.txt")
  "$BIN/parley" --data-dir "$data" --listen 127.0.0.1:$PORT serve >"$data/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    curl -fs "$URL/healthz" >/dev/null && break
    sleep 0.1
  done
}

run() {
  local scenario=$1 attackers=$2
  shift 2
  start_server "$scenario"
  echo "== $scenario × $attackers ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $BACKEND)"
  "$BIN/loadgen" abuse --url "$URL" --token "$TOKEN" --server-pid "$PID" \
    --scenario "$scenario" --attackers "$attackers" --duration "$SECONDS_EACH" \
    --source-addrs "$ATTACKERS" --probe-addr 127.0.0.2 "$@" | tee "$OUT/$scenario.txt"
  stop_server
  rm -rf "${ROOT:?}/$scenario/files"
}

run signin "$SIGNINS"
run idle "$IDLE"
run slowloris "$SLOWLORIS"
run uploads "$UPLOADS" --upload-mib "$UPLOAD_MIB"
echo "== reports in $OUT"
