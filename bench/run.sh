#!/usr/bin/env bash
# Benchmarks ferryd's echo against a one-thread C epoll echo server (bench/echo-epoll.c) with
# ferry-bench (the load generator behind `ferry bench`), on loopback only, and prints a table
# with ferryd/C ratios of throughput and of server CPU per operation.
#
#   bench/run.sh                       every scenario, 5 s each after 1 s of warm-up, both client styles
#   DURATION=2 SCENARIOS="pingpong bulk" bench/run.sh
#   ROUNDS=5 bench/run.sh              each scenario 5 times, servers alternating: medians and ranges of the ratios
#   CLIENT_STYLES=threads bench/run.sh                (one client style only; default "epoll threads")
#   FERRYD_ENV="DOTNET_gcServer=1" bench/run.sh      (an experiment: env for ferryd only)
#   FERRYD_ARGS="--log-level warning" bench/run.sh    (an experiment: ferryd options)
#   CLIENT_STYLES="epoll threads async" bench/run.sh  (also the .NET async engine)
#   PLOT=1 bench/run.sh                               (also draws latency percentiles to a PNG)
#   FERRYD=/tmp/jit/ferryd SKIP_BUILD=1 bench/run.sh  (another ferryd build, e.g. FERRY_BUILD=jit's)
#   FERRYD_B=/tmp/old/ferryd SERVERS="ferryd ferryd-b c" bench/run.sh  (two ferryd builds in the same rounds: A/B)
#   FERRYD_B=artifacts/bin/ferryd FERRYD_B_ARGS="--log-level warning" SERVERS="ferryd ferryd-b c" bench/run.sh
#                                     (one build with two sets of options; FERRYD_B_ARGS defaults to FERRYD_ARGS)
#   MODE=forward bench/run.sh         proxies instead of echo servers: ferryd's forward, HAProxy (mode tcp,
#                                     nbthread 1) and socat fork in front of the C echo server, compared with HAProxy
#                                     (SERVERS="forward forward-b haproxy" with FERRYD_B: two ferryd builds;
#                                     FORWARD_OPTIONS / FORWARD_B_OPTIONS=",splice=off": options of each, e.g. one
#                                     build against itself with FERRYD_B=artifacts/bin/ferryd)
#   MODE=exec bench/run.sh            a program per connection (/bin/cat): ferryd's exec, xinetd (cps raised) and
#                                     socat fork EXEC, compared with xinetd; connect+echo+close, and the
#                                     parent side's memory with 100 programs running (IDLE_CONNS)
#   MODE=metrics bench/run.sh         what --metrics costs: ferryd (metrics off) against ferryd-metrics (the
#                                     same binary with --metrics, scraped every second from the client's core),
#                                     ping-pong and connect; ratios to metrics off
#   MODE=udp bench/run.sh             UDP echo ping-pong (scenario udp: ferry-bench --udp, 100 senders, 64 B
#                                     datagrams, loss counted after a 0.2 s timeout, not waited for): ferryd's
#                                     udp:127.0.0.1:PORT=echo listener, the C reference's --udp loop (epoll +
#                                     recvmmsg/sendmmsg, batches of 64) and socat UDP4-RECVFROM fork PIPE (a process per
#                                     datagram: the only socat UDP echo found to return every datagram intact);
#                                     ratios to C. A server that does not start (a ferryd without UDP listeners) is
#                                     reported and its rows stay empty; the others still run
#   MODE=unix bench/run.sh            ping-pong over a Unix stream socket against the same over TCP loopback:
#                                     ferryd-unix (--listen unix:PATH=echo) and ferryd (TCP), with the C reference
#                                     over both (c-unix, c) as context; ratios to ferryd over TCP
#                                     (SCENARIOS="pingpong bulk connect" for more than ping-pong)
#
# Client styles (CLIENT_STYLES, ferry-bench --engine): epoll (one thread, non-blocking, the
# cheapest client per message) and threads (blocking sockets, a thread per connection and
# direction, as ferry, socat and most real clients work). Ping-pong, bulk and connect run once
# per style; chat and idle run once, on the async engine (the only one that runs them).
# Beside every rate the table gives the server's CPU per operation (microseconds per message,
# per MB in bulk, per connection in connect): ferry-bench reads the server's CPU time
# (/proc/PID/stat) at the start and end of its measured window and divides by what that window
# counted, so unlike a rate it is not capped by the client. That time includes the server's children,
# those it reaped (cutime, cstime) and those still running: in MODE=exec every /bin/cat counts for the
# server that ran it, and socat's forked children count for socat.
#
# Knobs (environment): DURATION, WARMUP, ROUNDS, SCENARIOS (pingpong bulk connect idle chat; udp), CLIENT_STYLES,
# IDLE_CONNS, CHAT_MEMBERS, CONNECT_LOOPS, SERVERS (ferryd c), FERRYD_ENV, FERRYD_ARGS, CLIENT_ENV, CLIENT_ARGS,
# EXTRA_SERVERS=1 (also socat and ncat when installed), SKIP_BUILD=1, OUT (directory for the JSON reports).
# CLIENT_ARGS adds ferry-bench options to every run (not ones the scenario already sets).
# Every server it starts is stopped by PID on exit; each scenario is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-1}
SCENARIOS_SET=${SCENARIOS:-}
SCENARIOS=${SCENARIOS:-"pingpong bulk connect idle chat"}
CHAT_MEMBERS=${CHAT_MEMBERS:-50}
MODE=${MODE:-echo}
if [ "$MODE" = forward ]; then
  # The upstream (the C echo server) holds a socket per pair too: 1,000 pairs, as issue 13 asks.
  IDLE_CONNS=${IDLE_CONNS:-1000}
  REFERENCE=haproxy
elif [ "$MODE" = exec ]; then
  # Each connection is a process: 100 of them running at once for the memory figure.
  IDLE_CONNS=${IDLE_CONNS:-100}
  SCENARIOS=${SCENARIOS_SET:-connect idle}
  REFERENCE=xinetd
elif [ "$MODE" = metrics ]; then
  SCENARIOS=${SCENARIOS_SET:-pingpong connect}
  REFERENCE=ferryd
elif [ "$MODE" = udp ]; then
  SCENARIOS=${SCENARIOS_SET:-udp}
  REFERENCE=c
elif [ "$MODE" = unix ]; then
  SCENARIOS=${SCENARIOS_SET:-pingpong}
  REFERENCE=ferryd
else
  REFERENCE=c
fi
IDLE_CONNS=${IDLE_CONNS:-10000}
CONNECT_LOOPS=${CONNECT_LOOPS:-8}
CLIENT_STYLES=${CLIENT_STYLES:-"epoll threads"}
FERRYD_ENV=${FERRYD_ENV:-}
FORWARD_OPTIONS=${FORWARD_OPTIONS:-}
FORWARD_B_OPTIONS=${FORWARD_B_OPTIONS:-}
CLIENT_ENV=${CLIENT_ENV:-}
CLIENT_ARGS=${CLIENT_ARGS:-}
FERRYD_ARGS=${FERRYD_ARGS:-}
EXTRA_SERVERS=${EXTRA_SERVERS:-0}
OUT=${OUT:-$root/artifacts/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

ferry_bench=$root/artifacts/bin/ferry-bench
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
  pinning="server on core 0, ferry-bench on core 1"
else
  pinning="not pinned (fewer than 2 cores or no taskset)"
fi

# Unix sockets live in a directory of their own (a short path: sun_path holds 107 bytes).
sockets=$(mktemp -d /tmp/ferry-bench.XXXXXX)

server_pid=
server_name=
server_path=
transport=tcp
scraper_pid=
stop_server() {
  if [ -n "$scraper_pid" ]; then
    kill -TERM "$scraper_pid" 2>/dev/null || true
    wait "$scraper_pid" 2>/dev/null || true
    scraper_pid=
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    # socat's forked children are stopped with it, by their ids (once the parent is gone they
    # are no longer its children, and a UDP child has no connection whose end would stop it).
    local children=
    [[ "$server_name" == socat* ]] && children=$(ps -o pid= --ppid "$server_pid" || true)
    # shellcheck disable=SC2086
    kill -TERM "$server_pid" $children 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
  if [ -n "$server_path" ]; then rm -f "$server_path"; server_path=; fi
}
trap 'stop_server; rm -rf "$sockets"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_ferryd NAME SERVICE LOG [ADDRESS]: ferryd (FERRYD_B's build for NAME *-b) with one listener
# on ADDRESS: 127.0.0.1:0 by default, its port then read from the "listening" line; udp:HOST:PORT
# and unix:PATH as given.
start_ferryd() {
  local binary=$ferryd address=${4:-127.0.0.1:0} args=$FERRYD_ARGS
  if [[ "$1" == *-b ]]; then
    binary=${FERRYD_B:?FERRYD_B names the second ferryd build}
    args=${FERRYD_B_ARGS-$FERRYD_ARGS}
  fi
  # shellcheck disable=SC2086
  "${server_pin[@]}" env $FERRYD_ENV "$binary" --listen "$address=$2" $args >"$3" 2>"$3.err" &
  server_pid=$!
  wait_for_line "$3" "$server_pid" || return 1
  if [ "$address" = 127.0.0.1:0 ]; then
    server_port=$(awk '/^listening/ {split($3, a, ":"); print a[2]; exit}' "$3")
  fi
}

# start_scraped_ferryd SERVICE LOG: ferryd with --metrics, and a scraper (a GET every second, on
# the load generator's core, stopped with the server) for as long as it runs.
start_scraped_ferryd() {
  FERRYD_ARGS="$FERRYD_ARGS --metrics 127.0.0.1:0" start_ferryd ferryd "$1" "$2"
  local metrics_port
  for _ in $(seq 100); do grep -q '^listening metrics' "$2" && break; sleep 0.05; done
  metrics_port=$(awk '/^listening metrics/ {split($3, a, ":"); print a[2]; exit}' "$2")
  # One process for every scrape (a curl per second would be a fork and exec on the client's core).
  "${client_pin[@]}" python3 -c "
import time, urllib.request
scrapes = 0
while True:
    time.sleep(1)
    try:
        urllib.request.urlopen('http://127.0.0.1:$metrics_port/metrics', timeout=5).read()
    except OSError:
        break
    scrapes += 1
    open('$2.scrapes', 'w').write(str(scrapes))
" &
  scraper_pid=$!
}

# start_server NAME [SERVICE]: starts it pinned, sets server_pid and server_port (a Unix socket's
# server: server_path). $transport says what it listens on: tcp, udp (the udp scenario) or unix
# (a NAME ending in -unix). Fails when it does not start (bench reports its first line of stderr).
start_server() {
  local name=$1 service=${2:-echo} log=$OUT/$1.server.log
  server_name=$name
  case $transport in
    udp) server_port=$(free_udp_port) ;;
    unix) server_path=$sockets/$name.sock; rm -f "$server_path" ;;
  esac
  case $name in
    ferryd|ferryd-b|ferryd-unix)
      case $transport in
        udp) start_ferryd "$name" "$service" "$log" "udp:127.0.0.1:$server_port" ;;
        unix) start_ferryd "$name" "$service" "$log" "unix:$server_path" ;;
        *) start_ferryd "$name" "$service" "$log" ;;
      esac ;;
    ferryd-metrics) start_scraped_ferryd "$service" "$log" ;;
    c|c-unix)
      case $transport in
        udp) "${server_pin[@]}" "$cserver" --udp "$server_port" >"$log" 2>"$log.err" & ;;
        unix) "${server_pin[@]}" "$cserver" --unix "$server_path" >"$log" 2>"$log.err" & ;;
        *) "${server_pin[@]}" "$cserver" 0 >"$log" 2>"$log.err" & ;;
      esac
      server_pid=$!
      wait_for_line "$log" "$server_pid" || return 1
      [ "$transport" = tcp ] && server_port=$(awk '/^listening/ {print $2; exit}' "$log")
      return 0 ;;
    socat)
      if [ "$transport" = udp ]; then
        # A process per datagram, which reads it, writes it back to its sender and ends. The fast
        # UDP4-LISTEN:…,fork (a process per peer) joined datagrams in its pipe and mixed peers up
        # under 100 senders, so it is no echo to measure.
        "${server_pin[@]}" socat "UDP4-RECVFROM:$server_port,bind=127.0.0.1,fork" PIPE >"$log" 2>"$log.err" &
        server_pid=$!
        wait_for_udp_port "$server_port" "$server_pid"
        return
      fi
      server_port=$(free_port)
      "${server_pin[@]}" socat "TCP-LISTEN:$server_port,bind=127.0.0.1,reuseaddr,fork,backlog=512" PIPE >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    forward) start_ferryd "$name" "forward,to=127.0.0.1:$upstream_port$FORWARD_OPTIONS" "$log" ;;
    forward-b) start_ferryd "$name" "forward,to=127.0.0.1:$upstream_port$FORWARD_B_OPTIONS" "$log" ;;
    haproxy)
      server_port=$(free_port)
      # One thread, TCP mode, no logging: HAProxy as an operator would run it in front of one server.
      cat >"$OUT/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend front
    bind 127.0.0.1:$server_port
    maxconn 8000
    default_backend upstream
backend upstream
    server echo 127.0.0.1:$upstream_port maxconn 8000
CFG
      "${server_pin[@]}" haproxy -db -f "$OUT/haproxy.cfg" >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    socat-forward)
      server_port=$(free_port)
      "${server_pin[@]}" socat "TCP-LISTEN:$server_port,bind=127.0.0.1,reuseaddr,fork,backlog=512" "TCP:127.0.0.1:$upstream_port" >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    exec|exec-b)
      # Above the default maxChildren=40: the idle run holds IDLE_CONNS programs at once.
      start_ferryd "$name" "exec,cmd=/bin/cat,maxChildren=$((IDLE_CONNS + 10))" "$log" ;;
    xinetd)
      server_port=$(free_port)
      # inetd's way: fork, then exec cat with the socket as fd 0 and 1. cps (connections per
      # second before it pauses the service) and instances raised, so they do not cap the run.
      # Each logs who connected, the program's pid, how it ended and how long it ran: xinetd in
      # two lines (START, EXIT), ferryd in its close line.
      cat >"$OUT/xinetd.conf" <<CFG
defaults
{
    instances = UNLIMITED
    per_source = UNLIMITED
    cps = 1000000 1
}
service ferrybench
{
    type = UNLISTED
    socket_type = stream
    protocol = tcp
    wait = no
    user = $(id -un)
    server = /bin/cat
    bind = 127.0.0.1
    port = $server_port
    log_type = FILE $OUT/xinetd.connections.log
    log_on_success = PID HOST DURATION EXIT
    log_on_failure = HOST
}
CFG
      "${server_pin[@]}" xinetd -dontfork -f "$OUT/xinetd.conf" -pidfile "$OUT/xinetd.pid" >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    socat-exec)
      server_port=$(free_port)
      "${server_pin[@]}" socat "TCP-LISTEN:$server_port,bind=127.0.0.1,reuseaddr,fork,backlog=512" EXEC:/bin/cat >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
    ncat)
      server_port=$(free_port)
      "${server_pin[@]}" ncat -l 127.0.0.1 "$server_port" --keep-open --exec /bin/cat >"$log" 2>"$log.err" &
      server_pid=$!
      wait_for_port "$server_port" ;;
  esac
}

# wait_for_line LOG [PID]: waits for the server's "listening" line to be complete: a line can
# reach the file in more than one write, and a port read from half a line is wrong. Gives up at
# once when process PID has exited.
wait_for_line() {
  for _ in $(seq 200); do
    if grep -q '^listening' "$1" 2>/dev/null && [ -z "$(tail -c 1 "$1")" ]; then return 0; fi
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
      return 1
    fi
    sleep 0.05
  done
  echo "server did not start; see $1.err" >&2; return 1
}

# wait_for_udp_port PORT PID: until something has bound 127.0.0.1:PORT for UDP (no datagram sent).
wait_for_udp_port() {
  local hex
  hex=$(printf '0100007F:%04X' "$1")
  for _ in $(seq 200); do
    awk -v a="$hex" '$2 == a {found = 1} END {exit !found}' /proc/net/udp && return 0
    kill -0 "$2" 2>/dev/null || { echo "server exited before binding UDP port $1" >&2; return 1; }
    sleep 0.05
  done
  echo "nothing bound UDP port $1" >&2; return 1
}

wait_for_port() {
  for _ in $(seq 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; return 1
}

# bench NAME SCENARIO STYLE ROUND: one scenario against a freshly started server.
bench() {
  local name=$1 scenario=$2 style=$3 suffix args target
  suffix=$([ "$4" = 1 ] && echo "" || echo ".r$4")
  case $scenario in
    pingpong) args=(--mode pingpong --conns 100 --size 64) ;;
    udp) args=(--udp --mode pingpong --conns 100 --size 64) ;;
    bulk) args=(--mode bulk --conns 1 --size 65536) ;;
    connect) args=(--mode connect --conns "$CONNECT_LOOPS" --size 64) ;;
    idle) args=(--mode idle --conns "$IDLE_CONNS" --size 64) ;;
    chat) args=(--mode chat --conns "$CHAT_MEMBERS" --size 64) ;;
  esac
  transport=tcp
  [ "$scenario" = udp ] && transport=udp
  [[ "$name" == *-unix ]] && transport=unix
  if ! start_server "$name" "$([ "$scenario" = chat ] && echo chat || echo echo)"; then
    echo "  $name $scenario ($style)${suffix:+ round $4}: $name did not start, skipped: $(head -n 1 "$OUT/$name.server.log.err" 2>/dev/null)" >&2
    stop_server
    return 0
  fi
  target=(127.0.0.1 "${server_port:-}")
  [ "$transport" = unix ] && target=(--unix "$server_path")
  local run=$OUT/$name.$scenario.$style$suffix
  # ferry-bench reads the server's memory and CPU time itself (--server-pid), over its own
  # measured window, and its own CPU time; all of it is in the JSON report.
  # shellcheck disable=SC2086
  if ! "${client_pin[@]}" env $CLIENT_ENV "$ferry_bench" "${target[@]}" "${args[@]}" --engine "$style" $CLIENT_ARGS \
      --duration "$DURATION" --warmup "$WARMUP" --server-pid "$server_pid" --json >"$run.json" 2>"$run.err"; then
    echo "  $name $scenario ($style): ferry-bench failed: $(tail -1 "$run.err")" >&2
  fi
  stop_server
  echo "  $name $scenario ($style)${suffix:+ round $4} done" >&2
}

# styles SCENARIO: the client styles it runs with (the async engine alone runs chat and idle).
styles() {
  case $1 in
    pingpong|bulk|connect|udp) echo "$CLIENT_STYLES" ;;
    *) echo async ;;
  esac
}

if [ "$MODE" = forward ]; then
  read -r -a servers <<<"${SERVERS:-forward haproxy socat-forward}"
  # The upstream every proxy forwards to: the C echo server, on the load generator's core, so
  # the proxy alone has core 0.
  "${client_pin[@]}" "$cserver" 0 >"$OUT/upstream.log" 2>"$OUT/upstream.err" &
  upstream_pid=$!
  trap 'stop_server; kill -TERM "$upstream_pid" 2>/dev/null || true' EXIT
  wait_for_line "$OUT/upstream.log" && upstream_port=$(awk '/^listening/ {print $2; exit}' "$OUT/upstream.log")
  pinning="$pinning; the C echo upstream on core 1"
elif [ "$MODE" = exec ]; then
  read -r -a servers <<<"${SERVERS:-exec xinetd socat-exec}"
elif [ "$MODE" = metrics ]; then
  read -r -a servers <<<"${SERVERS:-ferryd ferryd-metrics}"
elif [ "$MODE" = udp ]; then
  read -r -a servers <<<"${SERVERS:-ferryd c socat}"
elif [ "$MODE" = unix ]; then
  read -r -a servers <<<"${SERVERS:-ferryd-unix ferryd c-unix c}"
else
  read -r -a servers <<<"${SERVERS:-ferryd c}"
fi
if [ "$EXTRA_SERVERS" = 1 ]; then
  command -v socat >/dev/null && servers+=(socat)
  command -v ncat >/dev/null && servers+=(ncat)
fi

build=$([ -e "$(dirname "$ferryd")/ferryd.dll" ] && echo "JIT" || echo "Native AOT")
echo "ferry-bench: ${servers[*]}; scenarios: $SCENARIOS; client styles: $CLIENT_STYLES; ${DURATION}s + ${WARMUP}s warm-up each, $ROUNDS round(s); $pinning; ferryd: $build build" >&2
if [ -n "$FERRYD_ENV" ]; then echo "ferryd environment: $FERRYD_ENV" >&2; fi
# Rounds alternate the servers, so a noisy minute on the machine hits both rather than one.
for round in $(seq "$ROUNDS"); do
  for scenario in $SCENARIOS; do
    # Idle memory does not vary between runs: once is enough.
    if [ "$scenario" = idle ] && [ "$round" != 1 ]; then continue; fi
    for style in $(styles "$scenario"); do
      for name in "${servers[@]}"; do
        # Only ferryd, the C reference and socat have a UDP echo here.
        if [ "$scenario" = udp ] && [[ ! "$name" =~ ^(ferryd|ferryd-b|c|socat)$ ]]; then continue; fi
        # Fork-per-connection servers would start thousands of processes for the idle run.
        if [ "$scenario" = idle ] && [[ "$name" == socat* || "$name" == ncat ]]; then continue; fi
        # Only ferryd has a chat service; the others are echo servers.
        if [ "$scenario" = chat ] && [ "$name" != ferryd ]; then continue; fi
        bench "$name" "$scenario" "$style" "$round"
      done
    done
  done
done

ROUNDS=$ROUNDS CLIENT_STYLES=$CLIENT_STYLES REFERENCE=$REFERENCE python3 "$root/bench/table.py" "$OUT" "${servers[@]}"
echo "JSON reports: $OUT" >&2
# PLOT=1: a PNG of the latency percentiles per server and scenario (bench/plot, ScottPlot; never
# part of the shipped binaries).
if [ "${PLOT:-0}" = 1 ]; then
  dotnet run --project "$root/bench/plot" -c Release -- "$OUT" "$OUT/latency.png" >"$OUT/plot.log" 2>&1 \
    && echo "plot: $OUT/latency.png" >&2 || echo "plot failed; see $OUT/plot.log" >&2
fi
