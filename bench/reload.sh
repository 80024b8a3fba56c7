#!/usr/bin/env bash
# A proxied route's latency and throughput while the configuration is reloaded every second,
# against the same route without reloads, in one run (alternating: steady, reloading, steady,
# reloading, ...; the median of each kind):
#   steady     wrk → gateway (the C stamp filter) → nginx
#   reloading  the same, while a loop PUTs a new config to the admin API every second (the stamp
#              filter's value changes, so every reload builds a new filter instance and retires
#              the old one) and checks each was applied
# wrk counts non-2xx answers and socket errors; both must be 0.
# The gateway runs on core 0; nginx, wrk and the reload loop on core 1.
# Usage: bench/reload.sh [DURATION_SECONDS] [CONNECTIONS]   (release build; results → bench/reload-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
scripts/install-deps --bench
swift build -c release --product agentgateway >/dev/null
BIN=$(swift build -c release --show-bin-path)
bench_setup
cc -O2 -std=c99 -shared -fPIC -fvisibility=hidden -I Sources/PluginABI/include examples/c-filter/stamp_filter.c -o "$WORK/libstamp.so"
BACKEND=$(bench_port); GW=$(bench_port); ADMIN=$(bench_port)
bench_nginx_conf backend "server { listen 127.0.0.1:$BACKEND; location / { default_type application/json; return 200 '{\"ok\":true}'; } }"
$LOAD_CPU nginx -c "$WORK/backend.conf" -g 'daemon off;' & PIDS+=($!)

config() { # stamp value
  cat <<TOML
[gateway]
event_loops = 1
watch_config = false
[admin]
address = "127.0.0.1:$ADMIN"
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.stamp]
path = "$WORK/libstamp.so"
[[routes]]
name = "api"
[[routes.filters]]
plugin = "stamp"
[routes.filters.config]
value = "$1"
[routes.backend]
urls = ["http://127.0.0.1:$BACKEND"]
TOML
}
config v0 > "$WORK/gw.toml"
$GW_CPU "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning & GWPID=$!; PIDS+=($GWPID)
for p in $BACKEND $GW; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/" >/dev/null && break; sleep 0.1; done
done

reload_loop() { # seconds → reloads every second, each checked; prints how many were applied
  local applied=0 n
  for n in $(seq "$1"); do
    sleep 1
    config "r$RANDOM$n" > "$WORK/next.toml"
    $LOAD_CPU curl -fs -X PUT --data-binary @"$WORK/next.toml" "http://127.0.0.1:$ADMIN/config" | grep -q '"result":"applied"' && applied=$((applied + 1))
  done
  echo "$applied"
}

run() { # kind → "kind rps p50 p99 errors reloads"
  local kind=$1 out reloads=0 loop
  if [ "$kind" = reloading ]; then
    reload_loop "$DURATION" > "$WORK/reloads" &
    loop=$!
  fi
  out=$($LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$GW/")
  if [ "$kind" = reloading ]; then wait "$loop"; reloads=$(cat "$WORK/reloads"); fi
  read -r rps p50 p99 _ _ errors < <(python3 bench/wrk_summary.py --socket-errors <<< "$out")
  echo "$kind $rps $p50 $p99 $errors $reloads"
}

$LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$GW/" >/dev/null  # warm-up
: > "$WORK/runs"
for _ in 1 2 3; do run steady >> "$WORK/runs"; run reloading >> "$WORK/runs"; done
median() { grep "^$1 " "$WORK/runs" | sort -k2 -n | sed -n 2p; }
read -r _ S_RPS S_P50 S_P99 S_ERR _ < <(median steady)
read -r _ R_RPS R_P50 R_P99 R_ERR R_RELOADS < <(median reloading)
ALL_ERRORS=$(awk '{s += $5} END {print s}' "$WORK/runs")
ALL_RELOADS=$(awk '$1 == "reloading" {s += $6} END {print s}' "$WORK/runs")
GENERATION=$(curl -fs "http://127.0.0.1:$ADMIN/config/generations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["current"])')
RSS=$(awk '/VmRSS/ {print $2}' /proc/$GWPID/status)

{
  echo "## bench/reload.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, ${CONNECTIONS} connections, gateway pinned to core 0 (nginx, wrk, reloads on core 1)"
  echo
  echo "| run (median of 3) | req/s | p50 ms | p99 ms | failed requests | reloads applied |"
  echo "|---|---|---|---|---|---|"
  echo "| steady | $S_RPS | $S_P50 | $S_P99 | $S_ERR | - |"
  echo "| reloading every second | $R_RPS | $R_P50 | $R_P99 | $R_ERR | $R_RELOADS |"
  echo
  echo "- all six runs: $ALL_ERRORS failed requests; $ALL_RELOADS reloads applied (generation $GENERATION at the end); gateway RSS after: $((RSS / 1024)) MB"
  echo "- reloading / steady: throughput $(python3 -c "print(f'{$R_RPS / $S_RPS:.2f}')"), p99 $(python3 -c "print(f'{$R_P99 / $S_P99:.2f}')")×"
} | tee bench/reload-results.md
[ "$ALL_ERRORS" = 0 ] || { echo "failed requests during the runs" >&2; exit 1; }
