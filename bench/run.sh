#!/usr/bin/env bash
# Benchmarks ferryd's echo against a one-thread C epoll echo server (bench/echo-epoll.c) with
# `ferry bench`, on loopback only, and prints a table with ferryd/C ratios.
#
#   bench/run.sh                       every scenario, 5 s each after 1 s of warm-up
#   DURATION=2 SCENARIOS="pingpong bulk" bench/run.sh
#   ROUNDS=5 bench/run.sh              each scenario 5 times, servers alternating: medians, and each round's ratio
#   FERRYD_ENV="DOTNET_gcServer=1" bench/run.sh      (an experiment: env for ferryd only)
#   FERRYD_ARGS="--log-level warning" bench/run.sh    (an experiment: ferryd options)
#   CLIENT_ARGS="--engine async" bench/run.sh         (the load generator's old engine)
#   PLOT=1 bench/run.sh                               (also draws latency percentiles to a PNG)
#   FERRYD=/tmp/jit/ferryd SKIP_BUILD=1 bench/run.sh  (another ferryd build, e.g. FERRY_BUILD=jit's)
#
# Knobs (environment): DURATION, WARMUP, ROUNDS, SCENARIOS (pingpong bulk connect idle chat), IDLE_CONNS, CHAT_MEMBERS,
# CONNECT_LOOPS, SERVERS (ferryd c), FERRYD_ENV, FERRYD_ARGS, CLIENT_ENV, CLIENT_ARGS, EXTRA_SERVERS=1 (also socat and ncat when installed),
# SKIP_BUILD=1, OUT (directory for the JSON reports).
# Every server it starts is stopped by PID on exit; each scenario is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-1}
SCENARIOS=${SCENARIOS:-"pingpong bulk connect idle chat"}
CHAT_MEMBERS=${CHAT_MEMBERS:-50}
IDLE_CONNS=${IDLE_CONNS:-10000}
CONNECT_LOOPS=${CONNECT_LOOPS:-8}
FERRYD_ENV=${FERRYD_ENV:-}
CLIENT_ENV=${CLIENT_ENV:-}
CLIENT_ARGS=${CLIENT_ARGS:-}
FERRYD_ARGS=${FERRYD_ARGS:-}
EXTRA_SERVERS=${EXTRA_SERVERS:-0}
OUT=${OUT:-$root/artifacts/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

ferry=$root/artifacts/bin/ferry
ferryd=${FERRYD:-$root/artifacts/bin/ferryd}
cserver=$root/artifacts/bench/echo-epoll

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # The results in bench/RESULTS.md are of the Native AOT build; FERRY_BUILD=jit measures the other.
  FERRY_BUILD=${FERRY_BUILD:-aot} ./build.sh >"$OUT/build.log" 2>&1 || { echo "./build.sh failed: $(tail -1 "$OUT/build.log")" >&2; exit 1; }
  mkdir -p "$(dirname "$cserver")"
  gcc -O2 -Wall -Wextra -o "$cserver" bench/echo-epoll.c
fi

# The server gets core 0 and the load generator core 1, so neither steals the other's CPU
# and "ratio to C" compares servers at one core each.
server_pin=() client_pin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0) client_pin=(taskset -c 1)
  pinning="server on core 0, ferry bench on core 1"
else
  pinning="not pinned (fewer than 2 cores or no taskset)"
fi

server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
trap stop_server EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server NAME [SERVICE]: starts it pinned, sets server_pid and server_port.
start_server() {
  local name=$1 service=${2:-echo} log=$OUT/$1.server.log
  case $name in
    ferryd)
      # shellcheck disable=SC2086
      "${server_pin[@]}" env $FERRYD_ENV "$ferryd" --listen "127.0.0.1:0=$service" $FERRYD_ARGS >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_line "$log" && server_port=$(awk '/^listening/ {split($3, a, ":"); print a[2]; exit}' "$log") ;;
    c)
      "${server_pin[@]}" "$cserver" 0 >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_line "$log" && server_port=$(awk '/^listening/ {print $2; exit}' "$log") ;;
    socat)
      server_port=$(free_port)
      "${server_pin[@]}" socat "TCP-LISTEN:$server_port,bind=127.0.0.1,reuseaddr,fork,backlog=512" PIPE >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    ncat)
      server_port=$(free_port)
      "${server_pin[@]}" ncat -l 127.0.0.1 "$server_port" --keep-open --exec /bin/cat >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
  esac
}

# Waits for the server's "listening" line to be complete: a line can reach the file in more
# than one write, and a port read from half a line is wrong.
wait_for_line() {
  for _ in $(seq 200); do
    if grep -q '^listening' "$1" 2>/dev/null && [ -z "$(tail -c 1 "$1")" ]; then return 0; fi
    sleep 0.05
  done
  echo "server did not start; see $1.err" >&2; return 1
}

wait_for_port() {
  for _ in $(seq 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; return 1
}

# sample_cpu SERVER_PID CLIENT_PID LAUNCHED: prints "SERVER% CLIENT%", the share of one core each
# used during the middle of the measured window (LAUNCHED: when the client was started, in
# epoch seconds): whoever is at ~100% is the bottleneck. "?" for a process that was gone before
# the window closed.
sample_cpu() {
  python3 - "$1" "$2" "$3" "$WARMUP" "$DURATION" <<'PY'
import os, sys, time
server, client = int(sys.argv[1]), int(sys.argv[2])
launched, warmup, duration = map(float, sys.argv[3:6])
hz = os.sysconf("SC_CLK_TCK")

def ticks(pid):
    """utime + stime in clock ticks, or None once the process has exited."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None

window = max(0.5, duration - 1)
time.sleep(max(0.0, launched + warmup + 0.5 - time.time()))
before = [ticks(server), ticks(client)]
time.sleep(window)
after = [ticks(server), ticks(client)]
print(*("?" if b is None or a is None else round(100 * (a - b) / hz / window) for b, a in zip(before, after)))
PY
}

# bench NAME SCENARIO ROUND: one scenario against a freshly started server.
bench() {
  local name=$1 scenario=$2 suffix args
  suffix=$([ "$3" = 1 ] && echo "" || echo ".r$3")
  case $scenario in
    pingpong) args=(--mode pingpong --conns 100 --size 64) ;;
    bulk) args=(--mode bulk --conns 1 --size 65536) ;;
    connect) args=(--mode connect --conns "$CONNECT_LOOPS" --size 64) ;;
    idle) args=(--mode idle --conns "$IDLE_CONNS" --size 64) ;;
    chat) args=(--mode chat --conns "$CHAT_MEMBERS" --size 64) ;;
  esac
  start_server "$name" "$([ "$scenario" = chat ] && echo chat || echo echo)"
  local report=$OUT/$name.$scenario$suffix.json client_pid
  # shellcheck disable=SC2086
  "${client_pin[@]}" env $CLIENT_ENV "$ferry" bench 127.0.0.1 "$server_port" "${args[@]}" $CLIENT_ARGS \
      --duration "$DURATION" --warmup "$WARMUP" --server-pid "$server_pid" --json >"$report" 2>"$OUT/$name.$scenario$suffix.err" &
  client_pid=$!
  sample_cpu "$server_pid" "$client_pid" "$(date +%s.%N)" >"$OUT/$name.$scenario$suffix.cpu"
  if ! wait "$client_pid"; then
    echo "  $name $scenario: ferry bench failed: $(tail -1 "$OUT/$name.$scenario$suffix.err")" >&2
  fi
  stop_server
  echo "  $name $scenario${suffix:+ (round ${3})} done" >&2
}

read -r -a servers <<<"${SERVERS:-ferryd c}"
if [ "$EXTRA_SERVERS" = 1 ]; then
  command -v socat >/dev/null && servers+=(socat)
  command -v ncat >/dev/null && servers+=(ncat)
fi

build=$([ -e "$(dirname "$ferryd")/ferryd.dll" ] && echo "JIT" || echo "Native AOT")
echo "ferry bench: ${servers[*]}; scenarios: $SCENARIOS; ${DURATION}s + ${WARMUP}s warm-up each, $ROUNDS round(s); $pinning; ferryd: $build build" >&2
if [ -n "$FERRYD_ENV" ]; then echo "ferryd environment: $FERRYD_ENV" >&2; fi
# Rounds alternate the servers, so a noisy minute on the machine hits both rather than one.
for round in $(seq "$ROUNDS"); do
  for scenario in $SCENARIOS; do
    # Idle memory does not vary between runs: once is enough.
    if [ "$scenario" = idle ] && [ "$round" != 1 ]; then continue; fi
    for name in "${servers[@]}"; do
      # Fork-per-connection servers would start thousands of processes for the idle run.
      if [ "$scenario" = idle ] && [ "$name" != ferryd ] && [ "$name" != c ]; then continue; fi
      # Only ferryd has a chat service; the others are echo servers.
      if [ "$scenario" = chat ] && [ "$name" != ferryd ]; then continue; fi
      bench "$name" "$scenario" "$round"
    done
  done
done

ROUNDS=$ROUNDS python3 "$root/bench/table.py" "$OUT" "${servers[@]}"
echo "JSON reports: $OUT" >&2
# PLOT=1: a PNG of the latency percentiles per server and scenario (bench/plot, ScottPlot; never
# part of the shipped binaries).
if [ "${PLOT:-0}" = 1 ]; then
  dotnet run --project "$root/bench/plot" -c Release -- "$OUT" "$OUT/latency.png" >"$OUT/plot.log" 2>&1 \
    && echo "plot: $OUT/latency.png" >&2 || echo "plot failed; see $OUT/plot.log" >&2
fi
