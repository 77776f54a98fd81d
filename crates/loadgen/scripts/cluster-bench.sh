#!/usr/bin/env bash
# The five-node cluster run of docs/benchmarks.md (issue 15): five `parley serve` nodes on
# one PostgreSQL database and one NATS server, 90,000 idle visitor WebSockets held across
# them, messages between visitors and agents on different nodes, and one node killed with
# `kill -9` in the middle of the message run.
#
#   cargo build --release -p parley -p loadgen
#   crates/loadgen/scripts/cluster-bench.sh [target/release]
#
# Steps:
#   1. A fresh database ($CLUSTER_POSTGRES_URL, default
#      postgres://postgres@127.0.0.1:5432/parley_cluster, dropped and recreated), an
#      administrator, and five nodes on 127.0.0.1:18081…18085 with NATS at $NATS_URL and a
#      subject prefix of their own (so other clusters on the same NATS are not heard).
#   2. The message run's visitors and conversations are created first (a one-message run),
#      so the measured run starts at once later.
#   3. Five `loadgen idle` processes, one per node, each holding $IDLE_PER_NODE sockets
#      (default 18,000) from its own source address 127.0.0.2…127.0.0.6: one process and
#      one node hold at most ~19,900 sockets (the open-file cap), so 90,000 needs five of
#      each. Each reports its node's RSS per socket; the script reads every node's VmRSS.
#   4. While they hold: `loadgen messages` with visitors and agents spread over all five
#      nodes (visitor i on node i mod 5, agent j on node j), so 4 of 5 deliveries cross
#      NATS; $KILL_AFTER seconds after sending starts, node $KILL_NODE is killed with
#      `kill -9`. Its visitors and agent reconnect to the other nodes with their cursors;
#      visitors send again what was unacknowledged, with the same echo_id. The report
#      counts acknowledged messages missing at an agent or delivered twice.
# Reports (JSON) and node logs stay in $OUT (default a temporary directory).
#
# Environment (defaults in brackets): IDLE_PER_NODE [18000], IDLE_STEPS [3], MSG_VISITORS [1000],
# MSG_RATE [200], MSG_SECONDS [60], KILL_NODE [3], KILL_AFTER [30], HOLD [1800]
# (the idle hold's upper bound; the script ends it once the message run is done).
set -euo pipefail

BIN=${1:-target/release}
IDLE_PER_NODE=${IDLE_PER_NODE:-18000}
IDLE_STEPS=${IDLE_STEPS:-3}
MSG_VISITORS=${MSG_VISITORS:-1000}
MSG_RATE=${MSG_RATE:-200}
MSG_SECONDS=${MSG_SECONDS:-60}
KILL_NODE=${KILL_NODE:-3}
KILL_AFTER=${KILL_AFTER:-30}
HOLD=${HOLD:-1800}
NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
PG=${CLUSTER_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/parley_cluster}
DATA=$(mktemp -d /var/tmp/parley-cluster.XXXXXX)
OUT=${OUT:-$DATA/reports}
mkdir -p "$OUT"
NODES=(1 2 3 4 5)
url() { echo "http://127.0.0.1:$((18080 + $1))"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
ALL=$(for n in "${NODES[@]}"; do url "$n"; done | paste -sd,)

# As many open files as the hard limit allows (20,000 on the reference machine: it cannot
# be raised, which is why there are five nodes and five idle loadgens).
ulimit -n "$(ulimit -Hn)"
echo "== machine: $(nproc) cores, open-file limit $(ulimit -n), load $(cut -d' ' -f1-3 /proc/loadavg), data $DATA"

ADMIN_URL=${PG%/*}/postgres
DB=${PG##*/}
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$DB\"" -c "CREATE DATABASE \"$DB\""
export PARLEY_DATABASE_URL=$PG PARLEY_NATS_URL=$NATS_URL
export PARLEY_NATS_SUBJECT_PREFIX="cluster$(date +%s)"
"$BIN/parley" --data-dir "$DATA/admin" admin create --email bench@example.com \
  --password 'benchmark-pass' >"$DATA/admin.txt"
TOKEN=$(sed -n 's/^api_access_token=//p' "$DATA/admin.txt")

declare -A PID
start_node() {
  local n=$1
  "$BIN/parley" --data-dir "$DATA/node$n" --listen "127.0.0.1:$((18080 + n))" serve \
    >"$DATA/node$n.log" 2>&1 &
  PID[$n]=$!
}
cleanup() {
  for n in "${NODES[@]}"; do kill "${PID[$n]:-0}" 2>/dev/null || true; done
  for p in ${IDLE_PIDS:-}; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
for n in "${NODES[@]}"; do start_node "$n"; done
for n in "${NODES[@]}"; do
  for _ in $(seq 1 300); do
    curl -fs "$(url "$n")/healthz" >/dev/null && break
    sleep 0.1
  done
  curl -fs "$(url "$n")/healthz" >/dev/null || { echo "node $n did not start"; cat "$DATA/node$n.log"; exit 1; }
done
echo "== five nodes up (prefix $PARLEY_NATS_SUBJECT_PREFIX): pids ${PID[*]}"
for n in "${NODES[@]}"; do echo "   node $n $(url "$n") RSS $(( $(rss_kib "${PID[$n]}") / 1024 )) MiB"; done

echo "== preparing the message run's $MSG_VISITORS visitors and conversations"
"$BIN/loadgen" messages --url "$(url 1)" --token "$TOKEN" --visitors "$MSG_VISITORS" \
  --agents 0 --rate 1 --warmup 0 --duration 1 --drain 5 --messages 1 \
  --setup-file "$DATA/msg-setup.json" --source-addrs 127.0.0.7 >/dev/null

echo "== idle: $IDLE_PER_NODE sockets on each node from 127.0.0.$((1 + 1))…127.0.0.6, held $HOLD s"
IDLE_PIDS=""
for n in "${NODES[@]}"; do
  "$BIN/loadgen" --json idle --url "$(url "$n")" --token "$TOKEN" --connections "$IDLE_PER_NODE" \
    --source-addrs "127.0.0.$((n + 1))" --server-pid "${PID[$n]}" --steps "$IDLE_STEPS" --settle 3 \
    --hold "$HOLD" --setup-file "$DATA/idle-setup-$n.json" \
    >"$OUT/idle-$n.json" 2>"$DATA/idle-$n.err" &
  IDLE_PIDS="$IDLE_PIDS $!"
done
# Until every idle loadgen holds all its sockets (each says so on stderr).
while :; do
  ready=0
  for n in "${NODES[@]}"; do grep -q "idle: holding" "$DATA/idle-$n.err" 2>/dev/null && ready=$((ready + 1)); done
  [ "$ready" = 5 ] && break
  for p in $IDLE_PIDS; do kill -0 "$p" 2>/dev/null || { echo "an idle loadgen ended early"; tail -n 5 "$DATA"/idle-*.err; exit 1; }; done
  sleep 2
done
echo "== all idle sockets held; load $(cut -d' ' -f1-3 /proc/loadavg)"
TOTAL_KIB=0
for n in "${NODES[@]}"; do
  k=$(rss_kib "${PID[$n]}")
  TOTAL_KIB=$((TOTAL_KIB + k))
  held=$(ss -Htn state established "( sport = :$((18080 + n)) )" | wc -l)
  echo "   node $n: $held established connections, RSS $((k / 1024)) MiB"
done
echo "   all nodes: RSS $((TOTAL_KIB / 1024)) MiB"

echo "== messages: $MSG_VISITORS visitors and 5 agents over all five nodes, $MSG_RATE msg/s for 5 + $MSG_SECONDS s; node $KILL_NODE killed $KILL_AFTER s after sending starts"
"$BIN/loadgen" --json messages --url "$(url 1)" --token "$TOKEN" --visitors "$MSG_VISITORS" \
  --agents 5 --visitor-nodes "$ALL" --agent-nodes "$ALL" --rate "$MSG_RATE" --warmup 5 \
  --duration "$MSG_SECONDS" --drain 60 --source-addrs 127.0.0.7 \
  --setup-file "$DATA/msg-setup.json" >"$OUT/messages.json" 2>"$DATA/messages.err" &
MSG_PID=$!
until grep -q "sending" "$DATA/messages.err" 2>/dev/null; do
  kill -0 $MSG_PID 2>/dev/null || { cat "$DATA/messages.err"; exit 1; }
  sleep 0.2
done
sleep "$KILL_AFTER"
echo "   kill -9 node $KILL_NODE (pid ${PID[$KILL_NODE]}) at $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
kill -9 "${PID[$KILL_NODE]}"
wait $MSG_PID || { echo "loadgen messages failed"; cat "$DATA/messages.err"; exit 1; }
echo "   after the run:"
for n in "${NODES[@]}"; do
  [ "$n" = "$KILL_NODE" ] && { echo "   node $n: killed"; continue; }
  echo "   node $n: $(ss -Htn state established "( sport = :$((18080 + n)) )" | wc -l) established connections, RSS $(( $(rss_kib "${PID[$n]}") / 1024 )) MiB"
done
python3 - "$OUT/messages.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
keys = ["nodes", "visitor_sockets_held", "agent_sockets_held", "scheduled", "sent", "acked",
        "failed", "unanswered", "drained", "agent_reconnects", "visitor_reconnects", "resent",
        "deliveries", "deliveries_expected", "deliveries_missing", "deliveries_duplicate",
        "delivered_unacked", "acked_per_second", "delivered_per_second", "loadavg_1m"]
for k in keys:
    print(f"   {k:22} {r[k]}")
for k in ["ack_latency", "deliver_latency", "cross_node_deliver_latency", "same_node_deliver_latency"]:
    l = r.get(k) or {}
    print(f"   {k:28} n={l.get('count')} p50={l.get('p50_ms')} p99={l.get('p99_ms')} max={l.get('max_ms')} ms")
for k, v in r["errors"].items():
    print(f"   error      {v} × {k}")
for k, v in r["disconnects"].items():
    print(f"   disconnect {v} × {k}")
EOF

echo "== ending the idle loadgens' hold (SIGINT: each still reports)"
for p in $IDLE_PIDS; do kill -INT "$p" 2>/dev/null || true; done
for p in $IDLE_PIDS; do wait "$p" || true; done
IDLE_PIDS=""
python3 - "$OUT" <<'EOF'
import json, sys
total = 0
for n in range(1, 6):
    try:
        r = json.load(open(f"{sys.argv[1]}/idle-{n}.json"))
    except Exception as e:
        print(f"   node {n}: no report ({e})")
        continue
    total += r["opened"]
    bpc = r["server_bytes_per_connection"]
    slope = r["server_bytes_per_connection_slope"]
    print(f"   node {n}: opened {r['opened']}, failed {r['failed']}, held at end {r['held_at_end']}, "
          f"RSS {r['server_rss_before_bytes']/2**20:.1f} -> {r['steps'][-1]['server_rss_bytes']/2**20:.1f} MiB, "
          f"{(bpc or 0)/1024:.2f} KiB per socket (slope {(slope or 0)/1024:.2f}), connect {r['connect_seconds']:.0f} s, "
          f"disconnects {r['disconnects']}")
print(f"   opened in all: {total}")
EOF

echo "== node warnings and errors"
for n in "${NODES[@]}"; do
  echo "   node $n:"
  grep -E ' (WARN|ERROR) ' "$DATA/node$n.log" | sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 || true
done
echo "reports in $OUT, logs in $DATA"
