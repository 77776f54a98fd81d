#!/usr/bin/env bash
# Runs the real-time benchmarks of docs/benchmarks.md against a fresh server, on loopback.
#
#   cargo build --release -p parley -p loadgen
#   crates/loadgen/scripts/bench.sh [target/release] [sqlite|postgres]
#
# Starts `parley serve` on 127.0.0.1:18080 with a temporary data directory (SQLite, or the
# database in $BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/loadgen_parley,
# dropped and recreated), creates an administrator, then runs loadgen's modes one after
# another. Each run is bounded in connections, messages and seconds; the server is stopped
# at the end. Reports go to the terminal and, as JSON, to $OUT (default a temporary dir).
#
# Environment (defaults in brackets): IDLE_CONNECTIONS [19000], MSG_VISITORS [10000],
# MSG_RATE [10000], MSG_SECONDS [30], AGENTS [3].
set -euo pipefail

BIN=${1:-target/release}
BACKEND=${2:-sqlite}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-19000}
MSG_VISITORS=${MSG_VISITORS:-10000}
MSG_RATE=${MSG_RATE:-10000}
MSG_SECONDS=${MSG_SECONDS:-30}
AGENTS=${AGENTS:-3}
PORT=18080
URL=http://127.0.0.1:$PORT
DATA=$(mktemp -d /var/tmp/parley-bench.XXXXXX)
OUT=${OUT:-$DATA/reports}
mkdir -p "$OUT"

if [ "$BACKEND" = postgres ]; then
  PG=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/loadgen_parley}
  ADMIN_URL=${PG%/*}/postgres
  DB=${PG##*/}
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$DB\"" -c "CREATE DATABASE \"$DB\""
  export PARLEY_DATABASE_URL=$PG
fi

"$BIN/parley" --data-dir "$DATA" admin create --email bench@example.com \
  --password 'benchmark-pass' >"$DATA/admin.txt"
TOKEN=$(sed -n 's/^api_access_token=//p' "$DATA/admin.txt")
"$BIN/parley" --data-dir "$DATA" --listen 127.0.0.1:$PORT serve >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "$URL/healthz" >/dev/null && break
  sleep 0.1
done

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), backend $BACKEND, data $DATA"

echo "== commit baseline of the same disk"
if [ "$BACKEND" = postgres ]; then
  "$BIN/loadgen" commit-baseline --database-url "$PARLEY_DATABASE_URL" --rows 2000
else
  "$BIN/loadgen" commit-baseline --database-url "sqlite://$DATA/baseline.db" --rows 2000
fi

echo "== idle WebSockets: $IDLE_CONNECTIONS"
"$BIN/loadgen" idle --url "$URL" --token "$TOKEN" --connections "$IDLE_CONNECTIONS" \
  --source-addrs 127.0.0.2,127.0.0.3 --server-pid $PID --steps 4 --settle 3 --hold 60 \
  --setup-file "$DATA/idle-setup.json"
"$BIN/loadgen" --json idle --url "$URL" --token "$TOKEN" --connections "$IDLE_CONNECTIONS" \
  --source-addrs 127.0.0.2,127.0.0.3 --server-pid $PID --steps 4 --settle 3 --hold 0 \
  --setup-file "$DATA/idle-setup.json" >"$OUT/idle.json"

echo "== messages: $MSG_VISITORS visitors, $AGENTS agents, $MSG_RATE msg/s for $MSG_SECONDS s"
"$BIN/loadgen" --json messages --url "$URL" --token "$TOKEN" --visitors "$MSG_VISITORS" \
  --agents "$AGENTS" --rate "$MSG_RATE" --warmup 5 --duration "$MSG_SECONDS" --drain 30 \
  --source-addrs 127.0.0.2 --server-pid $PID --setup-file "$DATA/msg-setup.json" \
  >"$OUT/messages.json"
python3 -m json.tool "$OUT/messages.json"

echo "== server warnings and errors"
grep -E ' (WARN|ERROR) ' "$DATA/server.log" | sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head || true
echo "reports in $OUT"
