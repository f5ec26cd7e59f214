#!/usr/bin/env bash
# Chat across two ferryd nodes sharing a room through Redis (issue 16), against the same members
# on one node: ferry-bench --mode chat, open loop (RATE lines/s per member, MEMBERS members), the
# members dealt over the two nodes with --also; every delivery checked (bytes, sender order).
# Reports deliveries per second, p50/p99 latency and the CPU of the ferryd(s) and of Redis over
# the run; ROUNDS alternating rounds, medians with ranges.
#
#   bench/scale-out.sh                     20 members x 50 lines/s = 1,000 lines/s offered, 10 s, 3 rounds
#   MEMBERS=50 RATE=20 ROUNDS=5 bench/scale-out.sh
#
# Everything is on loopback (redis-server on a free port, no persistence) and stops by itself.
# Uses artifacts/bin (./build.sh first).
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-20}
RATE=${RATE:-50}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-artifacts/bench/scale-out-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
ferryd=artifacts/bin/ferryd
bench=artifacts/bin/ferry-bench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
redis_pid=$!; pids+=("$redis_pid")
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# start_node LOG [OPTIONS]: a chat ferryd; prints its pid and port.
start_node() {
  "$ferryd" --listen "127.0.0.1:0=chat$2" --log-level warning >"$1" 2>"$1.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q '^listening' "$1" 2>/dev/null && break; sleep 0.05; done
  echo "$pid $(awk '/^listening/ {split($3, a, ":"); print a[2]; exit}' "$1")"
}

for round in $(seq "$ROUNDS"); do
  for setup in single cluster; do
    if [ "$setup" = single ]; then
      read -r a_pid a_port < <(start_node "$OUT/single.$round.log" "")
      pids+=("$a_pid"); nodes=("$a_pid"); also=()
    else
      backplane=",backplane=redis://127.0.0.1:$redis_port,cluster=bench$round"
      read -r a_pid a_port < <(start_node "$OUT/a.$round.log" "$backplane")
      read -r b_pid b_port < <(start_node "$OUT/b.$round.log" "$backplane")
      pids+=("$a_pid" "$b_pid"); nodes=("$a_pid" "$b_pid"); also=(--also "127.0.0.1:$b_port")
    fi
    before_nodes=0; for pid in "${nodes[@]}"; do before_nodes=$((before_nodes + $(cpu "$pid"))); done
    before_redis=$(cpu "$redis_pid")
    "$bench" 127.0.0.1 "$a_port" "${also[@]}" --mode chat --conns "$MEMBERS" --rate "$RATE" --duration "$DURATION" --warmup 2 --json \
      >"$OUT/$setup.$round.json" 2>"$OUT/$setup.$round.err" || echo "  $setup round $round: ferry-bench failed: $(tail -1 "$OUT/$setup.$round.err")" >&2
    after_nodes=0; for pid in "${nodes[@]}"; do after_nodes=$((after_nodes + $(cpu "$pid"))); done
    after_redis=$(cpu "$redis_pid")
    echo "{\"setup\":\"$setup\",\"round\":$round,\"nodeTicks\":$((after_nodes - before_nodes)),\"redisTicks\":$((after_redis - before_redis))}" >>"$OUT/cpu.jsonl"
    for pid in "${nodes[@]}"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
    echo "  $setup round $round done" >&2
  done
done

python3 - "$OUT" "$ROUNDS" "$MEMBERS" "$RATE" <<'PY'
import json, sys, statistics
out, rounds, members, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
cpu = [json.loads(line) for line in open(f"{out}/cpu.jsonl")]
def load(setup):
    rows = []
    for r in range(1, rounds + 1):
        report = json.load(open(f"{out}/{setup}.{r}.json"))
        ticks = next(c for c in cpu if c["setup"] == setup and c["round"] == r)
        seconds = report["measuredSeconds"] + report["warmupSeconds"]
        rows.append((report["messagesPerSecond"], report["latencyMicroseconds"]["p50"], report["latencyMicroseconds"]["p99"],
                     report["errors"], 100 * ticks["nodeTicks"] / 100 / seconds, 100 * ticks["redisTicks"] / 100 / seconds))
    return rows
def cell(values):
    m = statistics.median(values)
    return f"{m:,.0f} [{min(values):,.0f}–{max(values):,.0f}]" if len(values) > 1 else f"{m:,.0f}"
single, cluster = load("single"), load("cluster")
print(f"chat, {members} members x {rate:g} lines/s = {members * rate:,.0f} lines/s offered, {members * rate * (members - 1):,.0f} deliveries/s; medians [ranges] of {rounds} rounds")
print("| setup | deliveries/s | p50 µs | p99 µs | errors | ferryd CPU % (all nodes) | redis CPU % |")
print("|---|--:|--:|--:|--:|--:|--:|")
for name, rows in (("one node", single), ("two nodes + Redis", cluster)):
    cols = list(zip(*rows))
    print(f"| {name} | {cell(cols[0])} | {cell(cols[1])} | {cell(cols[2])} | {sum(cols[3])} | {cell(cols[4])} | {cell(cols[5])} |")
ratios = [c[0] / s[0] for s, c in zip(single, cluster)]
p99 = [(c[2] - s[2]) / 1000 for s, c in zip(single, cluster)]
print(f"two nodes / one node, deliveries: {statistics.median(ratios):.2f}x [{min(ratios):.2f}–{max(ratios):.2f}]; "
      f"p99 difference: {statistics.median(p99):+.2f} ms [{min(p99):+.2f}–{max(p99):+.2f}]")
PY
echo "reports: $OUT" >&2
