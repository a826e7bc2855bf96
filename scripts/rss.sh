#!/usr/bin/env bash
# A server's memory under a long load run: starts one variant of
# crates/pw-auth-server/examples/load_target.rs (guard or server; the server on a
# fresh SQLite file), loads it with wrk for PW_AUTH_RSS_SECS seconds (600 by default,
# in rounds of 30 s), and prints the server's resident memory after each round as a
# Markdown table, with the requests served so far. Every request is authenticated,
# authorised, charged and audited; a flat column means nothing grows per request.
#
#   scripts/rss.sh server          # 10 minutes
#   PW_AUTH_RSS_SECS=120 scripts/rss.sh guard
#
# Installs wrk (the distribution's package) if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VARIANT=${1:-server}
SECS=${PW_AUTH_RSS_SECS:-600}
ROUND=30
CONNECTIONS=${PW_AUTH_LOAD_CONNECTIONS:-32}

if ! command -v wrk >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q wrk >&2
fi

cargo build --release -q -p pw-auth-server --example load_target >&2
target=${CARGO_TARGET_DIR:-target}/release/examples/load_target

out=$(mktemp /tmp/pw-auth-rss.XXXXXX)
"$target" "$VARIANT" >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$out"' EXIT
line=""
for _ in $(seq 1 300); do
  line=$(grep -m1 '^READY ' "$out" || true)
  [ -n "$line" ] && break
  sleep 0.1
done
[ -n "$line" ] || { echo "the server did not start: $(cat "$out")" >&2; exit 1; }
port=$(echo "$line" | cut -d' ' -f2)
key=$(echo "$line" | cut -d' ' -f3)
header=()
[ "$key" = "-" ] || header=(-H "Authorization: $key")

# Resident memory in MiB.
rss() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
echo "$VARIANT: wrk, 2 threads, $CONNECTIONS connections, ${SECS} s in rounds of ${ROUND} s, $(nproc) cores"
echo
echo "| after | requests served | RSS (MiB) |"
echo "|---|---|---|"
printf '| 0 s | 0 | %s |\n' "$(rss)"
served=0
elapsed=0
while [ "$elapsed" -lt "$SECS" ]; do
  n=$(wrk -t2 -c"$CONNECTIONS" -d"${ROUND}s" "${header[@]}" \
    "http://127.0.0.1:$port/fabric/api/flows" | awk '/requests in/ {print $1}')
  served=$((served + n))
  elapsed=$((elapsed + ROUND))
  printf '| %d s | %d | %s |\n' "$elapsed" "$served" "$(rss)"
done
