#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another, on a
# stable toolchain, and prints each target's final libFuzzer statistics.
# Usage: fuzz/campaign.sh [SECONDS] [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
out=${2:-/tmp/pw-auth-fuzz-campaign}
targets=${TARGETS:-"authorization www_authenticate login policy decisions lifetimes session limiter server_flow"}
mkdir -p "$out"
cargo fuzz build -O -s none || exit 1
for t in $targets; do
  mkdir -p "$out/corpus/$t"
  cp corpus/$t/* "$out/corpus/$t/" 2>/dev/null
  start=$(date +%s)
  cargo fuzz run -O -s none "$t" "$out/corpus/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/" \
    > "$out/$t.log" 2>&1
  rc=$?
  end=$(date +%s)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/$t.log" | tail -1)
  execs=$(grep -E 'stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}')
  echo "$t rc=$rc seconds=$((end - start)) executions=${execs:-?} final: ${done_line:-none}"
done
