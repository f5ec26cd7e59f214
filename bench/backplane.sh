#!/usr/bin/env bash
# How a chat line crosses from one ferryd to another through Redis (issue 16's choice of
# transport): PUBLISH alone, a script that XADDs to the room's stream and PUBLISHes (the stream
# kept to catch up from after an outage), and XADD with the receiver polling XREAD. Starts its
# own redis-server on a free loopback port (no persistence), runs bench/backplane's probe for
# each mode and room count, ROUNDS times alternating, and prints medians with ranges.
#
#   bench/backplane.sh                         1,000 lines/s for 10 s, 1 and 100 rooms, 3 rounds
#   RATE=5000 ROOMS="1 1000" ROUNDS=5 bench/backplane.sh
#
# Latency is the receiver's time minus the sender's, both in the probe (one process, two
# multiplexers, as two nodes); CPU is the probe's (sender and receiver) and redis-server's over
# the sending window, in % of one core. Everything is on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
SECONDS_EACH=${SECONDS_EACH:-10}
ROOMS=${ROOMS:-"1 100"}
ROUNDS=${ROUNDS:-3}
MODES=${MODES:-"pubsub xadd-publish xread-poll"}
POLL_MS=${POLL_MS:-10}
OUT=${OUT:-artifacts/bench/backplane-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

dotnet build bench/backplane -c Release --nologo -v quiet >"$OUT/build.log" 2>&1 || { echo "build failed: see $OUT/build.log" >&2; exit 1; }
probe=bench/backplane/bin/Release/net10.0/backplane-probe
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
redis_pid=$!
trap 'kill -TERM "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

for round in $(seq "$ROUNDS"); do
  for rooms in $ROOMS; do
    for mode in $MODES; do
      "$probe" --port "$port" --redis-pid "$redis_pid" --mode "$mode" --rate "$RATE" --seconds "$SECONDS_EACH" \
        --rooms "$rooms" --poll-ms "$POLL_MS" >>"$OUT/results.jsonl"
      echo "  round $round: $mode, $rooms room(s) done" >&2
    done
  done
done

python3 - "$OUT/results.jsonl" "$RATE" <<'PY'
import json, sys, statistics
rows = [json.loads(line) for line in open(sys.argv[1])]
def cell(values):
    m = statistics.median(values)
    return f"{m:g} [{min(values):g}–{max(values):g}]" if len(values) > 1 else f"{m:g}"
print(f"| mode | rooms | lines/s | p50 µs | p99 µs | lost | probe CPU % | redis CPU % |")
print("|---|--:|--:|--:|--:|--:|--:|--:|")
keys = sorted({(r["rooms"], r["mode"]) for r in rows}, key=lambda k: (k[0], ["pubsub", "xadd-publish", "xread-poll"].index(k[1])))
for rooms, mode in keys:
    group = [r for r in rows if r["rooms"] == rooms and r["mode"] == mode]
    lost = sum(r["sent"] - r["received"] for r in group)
    print(f"| {mode} | {rooms} | {sys.argv[2]} | {cell([r['p50Us'] for r in group])} | {cell([r['p99Us'] for r in group])} | {lost} "
          f"| {cell([r['probeCpuPct'] for r in group])} | {cell([r['redisCpuPct'] for r in group])} |")
PY
echo "results: $OUT/results.jsonl" >&2
