#!/usr/bin/env bash
# The whole-request load table: one route (GET /fabric/api/flows, the same body), the
# same connections, driven by wrk from a second process on loopback, against
#   bare axum · axum behind the least an API-key layer does (parse, hash, look up:
#   the floor) · axum + pw-auth-axum's guard on its memory store · the reference
#   server on SQLite (audit commits synced as by default, and in full) · on
#   PostgreSQL · on PostgreSQL with the budgets on Redis
# (the servers are crates/pw-auth-server/examples/load_target.rs), in rounds: each
# round runs every row once, in turn. Prints a Markdown table: each row's median
# requests/s over the rounds, the p50 and p99 latency of that median run, its ratio
# to bare axum's median, and the ratio within each round (to that round's bare axum).
#
#   scripts/load.sh                  # 10 s a row, 3 rounds, 2 wrk threads, 32 connections
#   PW_AUTH_LOAD_SECS=30 PW_AUTH_LOAD_ROUNDS=5 PW_AUTH_LOAD_CONNECTIONS=64 scripts/load.sh
#
# Each row also gets the server process's CPU a request (all its threads, user and
# system, over the wrk run; PostgreSQL's and Redis's processes are not in it).
#
#   PW_AUTH_LOAD_ROWS="bare guard"   # only these rows, of: bare floor guard sqlite
#                                    # sqlite-full pg pg-redis (all by default), and
#                                    # floor-handler (the floor's check in the
#                                    # handler, no layer; only when asked for)
#   PW_AUTH_LOAD_BUSY="1000 2000"    # also bare axum with ~1,000 and ~2,000 ns of
#                                    # plain CPU work in its handler (a row each)
#
# Installs what it needs if it is missing (wrk, and for the PostgreSQL rows
# PostgreSQL and Redis: the distribution's packages); the PostgreSQL and Redis it
# uses are its own, in a temporary directory, on free loopback ports, stopped at the
# end. Every authenticated request must be answered 200: a row with any other answer
# is marked.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${PW_AUTH_LOAD_SECS:-10}
CONNECTIONS=${PW_AUTH_LOAD_CONNECTIONS:-32}
THREADS=${PW_AUTH_LOAD_THREADS:-2}
ROUNDS=${PW_AUTH_LOAD_ROUNDS:-3}
ROWS=${PW_AUTH_LOAD_ROWS:-bare floor guard sqlite sqlite-full pg pg-redis}
BUSY=${PW_AUTH_LOAD_BUSY:-}

wanted() { [[ " $ROWS " == *" $1 "* ]]; }
for r in $ROWS; do
  case "$r" in
    bare | floor | floor-handler | guard | sqlite | sqlite-full | pg | pg-redis) ;;
    *) echo "PW_AUTH_LOAD_ROWS: unknown row '$r'" >&2; exit 2 ;;
  esac
done
wanted bare || { echo "PW_AUTH_LOAD_ROWS: the ratios need the bare row" >&2; exit 2; }
databases=false
if wanted pg || wanted pg-redis; then databases=true; fi

need=()
command -v wrk >/dev/null || need+=(wrk)
if $databases; then
  command -v redis-server >/dev/null || need+=(redis-server)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
fi
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${need[@]}" >&2
fi

cargo build --release -q -p pw-auth-server --example load_target >&2
target=${CARGO_TARGET_DIR:-target}/release/examples/load_target

work=$(mktemp -d /tmp/pw-auth-load.XXXXXX)
chmod 700 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# PostgreSQL and Redis of the script's own, for the rows that use them.
start_databases() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_postgres=()
  if [ "$(id -u)" -eq 0 ]; then
    as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    chown postgres:postgres "$work"
  fi
  pg_port=$(free_port)
  "${as_postgres[@]}" "$pg_bin/initdb" -U postgres -A trust -E UTF8 --no-sync -D "$work/pg" >/dev/null
  "${as_postgres[@]}" "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -k "$work" \
    -c listen_addresses=127.0.0.1 -c max_connections=200 >"$work/pg.log" 2>&1 &
  pids+=($!)
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
    sleep 0.1
  done
}
if $databases; then start_databases; fi
# A fresh database named $1 (each row starts on empty records).
new_database() {
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$1"
  echo "postgres://postgres@127.0.0.1:$pg_port/$1"
}

# One row: start the target, wait for its READY line, load it, stop it.
row() {
  local name=$1 variant=$2
  shift 2
  local out="$work/$variant.$RANDOM.out"
  env "$@" "$target" "$variant" >"$out" 2>"$out.err" &
  local pid=$!
  pids+=("$pid")
  local line=""
  for _ in $(seq 1 300); do
    line=$(grep -m1 '^READY ' "$out" || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  if [ -z "$line" ]; then
    echo "$name: the server did not start: $(cat "$out.err")" >&2
    exit 1
  fi
  local port key
  port=$(echo "$line" | cut -d' ' -f2)
  key=$(echo "$line" | cut -d' ' -f3)
  local header=()
  [ "$key" = "-" ] || header=(-H "Authorization: $key")
  # The server's CPU (user + system, all threads, in clock ticks) around the run.
  local cpu0 cpu1
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency "${header[@]}" \
    "http://127.0.0.1:$port/fabric/api/flows" >"$work/$variant.wrk"
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local rps p50 p99 bad requests cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$variant.wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$work/$variant.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$variant.wrk")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$work/$variant.wrk")
  requests=$(awk '/requests in/ {print $1}' "$work/$variant.wrk")
  cpu=$(python3 -c "print(f'{($cpu1 - $cpu0) / $(getconf CLK_TCK) * 1e6 / max($requests, 1):.1f}')")
  echo "$name|$rps|$p50|$p99|${bad:-0}|$cpu"
}

# The rows, run in turn, ROUNDS times over (each round every row once, in this
# order): a row's figure is its median over the rounds, so that one slow or fast
# moment of a shared machine does not decide a ratio.
specs=("axum, no auth|bare")
for ns in $BUSY; do
  specs+=("axum, no auth, ~$ns ns of CPU work a request|bare|PW_AUTH_LOAD_BUSY_NS=$ns")
done
if wanted floor; then specs+=("axum + a bare API-key lookup (the floor)|floor"); fi
if wanted floor-handler; then
  specs+=("axum, the floor's lookup in the handler, no layer|floor-handler")
fi
if wanted guard; then specs+=("axum + pw-auth-axum's guard, memory store|guard"); fi
if wanted sqlite; then specs+=("pw-auth-server, SQLite (WAL)|server"); fi
if wanted sqlite-full; then
  specs+=("pw-auth-server, SQLite, --audit-sync full|server|PW_AUTH_AUDIT_SYNC=full")
fi
if wanted pg; then specs+=("pw-auth-server, PostgreSQL|server|pg"); fi
if wanted pg-redis; then specs+=("pw-auth-server, PostgreSQL + Redis|server|pg|redis"); fi
results="$work/results"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!specs[@]}"; do
    IFS='|' read -r name variant a b <<<"${specs[$i]}"
    env_args=()
    for extra in "$a" "$b"; do
      case "$extra" in
        "") ;;
        pg) env_args+=(PW_AUTH_POSTGRES_URL="$(new_database "load_${i}_$round")") ;;
        redis) env_args+=(PW_AUTH_REDIS_URL="redis://127.0.0.1:$redis_port") ;;
        *) env_args+=("$extra") ;;
      esac
    done
    line=$(row "$name" "$variant" "${env_args[@]}")
    echo "$i|$round|$line" >>"$results"
    echo "round $round: $line" >&2
  done
done

echo "wrk, $THREADS threads, $CONNECTIONS connections, ${SECS} s a row, $ROUNDS rounds, loopback, release builds, $(nproc) cores"
echo
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    i, rnd, name, rps, p50, p99, bad, cpu = line.rstrip("\n").split("|")
    rows.setdefault(int(i), []).append(
        (int(rnd), name, float(rps), p50, p99, int(bad or 0), float(cpu))
    )
bare = statistics.median(r[2] for r in rows[0])
bare_by_round = {r[0]: r[2] for r in rows[0]}
print("| server | requests/s (median) | p50 | p99 | of bare axum | each round | server CPU a request (median) |")
print("|---|---|---|---|---|---|---|")
for i in sorted(rows):
    runs = sorted(rows[i], key=lambda r: r[2])
    mid = runs[(len(runs) - 1) // 2]
    rps = statistics.median(r[2] for r in runs)
    bad = sum(r[5] for r in runs)
    note = f" ({bad} answers not 200)" if bad else ""
    each = ", ".join(f"{100 * r[2] / bare_by_round[r[0]]:.1f}" for r in sorted(rows[i]))
    cpu = statistics.median(r[6] for r in runs)
    print(
        f"| {mid[1]}{note} | {rps:.0f} | {mid[3]} | {mid[4]} | {100 * rps / bare:.1f} % "
        f"| {each} | {cpu:.1f} µs |"
    )
PY
