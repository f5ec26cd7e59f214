#!/usr/bin/env bash
# Counts the user-space instructions a server executes per connect+echo+close, with valgrind's
# callgrind: a figure this machine's noise does not move (the same build gives the same count to
# within about 2%, but for a pair of runs now and then that a garbage collection falls into
# unevenly: hence the median of three), where CPU time per connection moves by ±15% between
# rounds. It leaves the kernel out (the system calls are the same for ferryd and the C server,
# see bench/RESULTS.md), so it measures what ferryd's own code adds, not its speed: compare
# builds and options with it, and check a change's effect on time with bench/run.sh.
#
#   bench/instructions.sh                            ferryd (Info logging to a file), ferryd at --log-level warning, the C server
#   SERVERS="ferryd" bench/instructions.sh           one of them (ferryd, ferryd-warning, ferryd-b, c)
#   FERRYD_B=/tmp/old/ferryd SERVERS="ferryd ferryd-b" bench/instructions.sh   two builds
#   CONNECTIONS="1000 3000" bench/instructions.sh    the two runs whose difference is divided (default)
#   REPEATS=5 bench/instructions.sh                  pairs of runs per server (default 3): the median, and the range
#   FERRYD=/tmp/other/ferryd bench/instructions.sh   another build as ferryd (default artifacts/bin/ferryd; Native AOT:
#                                                    each binary runs from a copy of itself alone)
#
# Each server runs under callgrind twice, for the first and the second number of connections, made
# one after another by a Python client on loopback (connect, 64 bytes, read the echo, close); the
# difference of the two totals divided by the difference of the counts is the cost of one
# connection, startup and shutdown cancelling out. Needs valgrind (apt-get install valgrind).
# Every server it starts is stopped by PID; a run takes a minute or two.
set -euo pipefail
shopt -s inherit_errexit  # a failed client inside $(instructions ...) ends the script, not a wrong figure
cd "$(dirname "$0")/.."
root=$PWD

read -r -a servers <<<"${SERVERS:-ferryd ferryd-warning c}"
read -r first second <<<"${CONNECTIONS:-1000 3000}"
repeats=${REPEATS:-3}
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "instructions.sh: REPEATS must be a count of 1 or more" >&2; exit 2; }
[ "$second" -gt "$first" ] || { echo "instructions.sh: CONNECTIONS must be two counts, the second larger" >&2; exit 2; }
ferryd=${FERRYD:-$root/artifacts/bin/ferryd}
cserver=$root/artifacts/bench/echo-epoll
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -x "$ferryd" ] || { echo "instructions.sh: no $ferryd; run ./build.sh first" >&2; exit 2; }
if [[ " ${servers[*]} " == *" c "* ]] && [ ! -x "$cserver" ]; then
  mkdir -p "$(dirname "$cserver")" && gcc -O2 -o "$cserver" bench/echo-epoll.c
fi

work=$(mktemp -d /tmp/ferry-instructions.XXXXXX)
# Each run is in a subshell ($(...)): the server's PID is kept in a file, for this trap to stop it.
trap '{ [ -s "$work/server.pid" ] && kill -TERM "$(cat "$work/server.pid")" 2>/dev/null; } || true; rm -rf "$work"' EXIT

# A valgrind run reads the debug symbols next to the binary, and gives up on the compressed
# ones the AOT build writes: each binary runs from a copy of its own, without them.
copy_of() {
  local copy
  copy=$work/bin.$(echo "$1" | md5sum | cut -c1-8)
  mkdir -p "$copy" && cp "$1" "$copy/" && echo "$copy/$(basename "$1")"
}

# instructions NAME COUNT: callgrind's total for one server run with COUNT connections.
instructions() {
  local name=$1 count=$2 out=$work/$1.$2 binary args=() port
  case $name in
    ferryd) binary=$(copy_of "$ferryd"); args=(--listen 127.0.0.1:0=echo --log-file "$work/$name.log" ${FERRYD_ARGS:-}) ;;
    ferryd-warning) binary=$(copy_of "$ferryd"); args=(--listen 127.0.0.1:0=echo --log-file "$work/$name.log" --log-level warning) ;;
    ferryd-b) binary=$(copy_of "${FERRYD_B:?FERRYD_B names the second ferryd build}"); args=(--listen 127.0.0.1:0=echo --log-file "$work/$name.log" ${FERRYD_B_ARGS:-${FERRYD_ARGS:-}}) ;;
    c) binary=$cserver; args=(0) ;;
    *) echo "instructions.sh: unknown server $name" >&2; exit 2 ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" "$binary" "${args[@]}" >"$out.stdout" 2>"$out.stderr" &
  local server_pid=$!
  echo "$server_pid" >"$work/server.pid"
  port=
  for _ in $(seq 600); do
    kill -0 "$server_pid" 2>/dev/null || { echo "instructions.sh: $name ended: $(tail -1 "$out.stderr")" >&2; exit 1; }
    # A whole line: the "listening" line may reach the file in more than one write, and awk
    # would take an unfinished last line as it is.
    if [ "$(tail -c1 "$out.stdout" | od -An -tx1 | tr -d ' \n')" != 0a ]; then
      :
    elif [ "$name" = c ]; then
      port=$(awk '/^listening [0-9]+$/ {print $2; exit}' "$out.stdout")
    else
      port=$(awk '/^listening .*:[0-9]+$/ {n = split($3, a, ":"); print a[n]; exit}' "$out.stdout")
    fi
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "instructions.sh: $name did not say where it listens within 60 s" >&2; exit 1; }
  python3 - "$port" "$count" <<'PY'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
payload = bytes(range(64))
for _ in range(count):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(payload)
        echoed = b""
        while len(echoed) < len(payload):
            chunk = s.recv(len(payload) - len(echoed))
            if not chunk:
                sys.exit("the server closed before echoing")
            echoed += chunk
        if echoed != payload:
            sys.exit("the echo differs from what was sent")
PY
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  : >"$work/server.pid"
  local total
  total=$(awk '/^summary:/ {print $2; exit}' "$out.callgrind")
  [ -n "$total" ] || { echo "instructions.sh: $name: callgrind wrote no total" >&2; exit 1; }
  echo "$total"
}

echo "user-space instructions per connect+echo+close (callgrind: runs of $first and $second connections, the difference divided by $((second - first)); median of $repeats [range]):" >&2
for name in "${servers[@]}"; do
  counts=()
  for _ in $(seq "$repeats"); do
    a=$(instructions "$name" "$first")
    b=$(instructions "$name" "$second")
    counts+=($(( (b - a) / (second - first) )))
  done
  read -r -a sorted <<<"$(printf '%s\n' "${counts[@]}" | sort -n | tr '\n' ' ')"
  # The median; of an even count, the lower middle one.
  printf '%-16s %8d  [%d–%d]\n' "$name" "${sorted[$(( (repeats - 1) / 2 ))]}" "${sorted[0]}" "${sorted[$(( repeats - 1 ))]}"
done
