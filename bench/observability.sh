#!/usr/bin/env bash
# What observability costs on MCP tools/call, in one run against the same upstream
# (bench/mcp_backend.py): the gateway with metrics only (always on), then with tracing sampled at
# 100% and at 1% (spans exported over OTLP/HTTP to bench/otlp_sink.py) plus the access log (to a
# file). For each: requests/s (median of 3 runs) and p99 at CONNECTIONS connections, and the
# gateway's CPU per request; then instructions per request from bench/callgrind.sh (call,
# traced, traced1). The gateway runs on core 0; upstream, sink and wrk on core 1.
# Usage: bench/observability.sh [DURATION_SECONDS] [CONNECTIONS] [CALLGRIND_REQUESTS]
#        (release build; results → bench/observability-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
REQUESTS=${3:-1000}
scripts/install-deps --bench
for product in agentgateway mcp; do swift build -c release --product "$product" >/dev/null; done
BIN=$(swift build -c release --show-bin-path)
bench_setup
UP=$(bench_port); SINK=$(bench_port)
$LOAD_CPU python3 bench/mcp_backend.py "$UP" 20 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
$LOAD_CPU python3 bench/otlp_sink.py "$SINK" > "$WORK/sink.log" 2>&1 & PIDS+=($!)
cat > "$WORK/call.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":16}}}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
LUA
bench_jsonrpc_failures_lua >> "$WORK/call.lua"
HZ=$(getconf CLK_TCK)

declare -A RPS P99 CPU
MODES=(metrics traced-100 traced-1)
for mode in "${MODES[@]}"; do
  GW=$(bench_port)
  observed=""
  case $mode in
    traced-100) observed="[tracing]
endpoint = \"http://127.0.0.1:$SINK/v1/traces\"
sample_ratio = 1.0
[access_log]
path = \"$WORK/access-$mode.log\"" ;;
    traced-1) observed="[tracing]
endpoint = \"http://127.0.0.1:$SINK/v1/traces\"
sample_ratio = 0.01
[access_log]
path = \"$WORK/access-$mode.log\"" ;;
  esac
  cat > "$WORK/$mode.toml" <<TOML
[gateway]
event_loops = 1
$observed
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.mcp]
path = "$BIN/libmcp.so"
[[routes]]
name = "one"
[routes.match]
path = "/one"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = "a"
type = "http"
url = "http://127.0.0.1:$UP/mcp"
TOML
  $GW_CPU "$BIN/agentgateway" --config "$WORK/$mode.toml" --log-level warning > "$WORK/$mode.log" 2>&1 & GWPID=$!; PIDS+=($GWPID)
  for _ in $(seq 100); do
    curl -fs -X POST -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "http://127.0.0.1:$GW/one" | grep -q '"tools"' && break
    sleep 0.1
  done
  $LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d2s -s "$WORK/call.lua" "http://127.0.0.1:$GW/one" >/dev/null
  results=()
  for _ in 1 2 3; do
    before=$(awk '{print $14+$15}' /proc/$GWPID/stat)
    out=$($LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/call.lua" "http://127.0.0.1:$GW/one")
    after=$(awk '{print $14+$15}' /proc/$GWPID/stat)
    results+=("$(python3 bench/wrk_summary.py --jsonrpc --cpu "$before" "$after" "$HZ" <<< "$out")")
  done
  read -r rps _ p99 _ cpu errs < <(printf '%s\n' "${results[@]}" | sort -k1 -n | sed -n 2p)
  [ "$errs" = 0 ] || { echo "$mode: $errs responses were not a JSON-RPC result" >&2; exit 1; }
  RPS[$mode]=$rps; P99[$mode]=$p99; CPU[$mode]=$cpu
  kill "$GWPID"; wait "$GWPID" 2>/dev/null || true
done

declare -A INSTR
for c in call traced traced1; do
  # (callgrind.sh's top-functions listing ends in `head`, so its exit status is not its verdict.)
  INSTR[$c]=$( (bench/callgrind.sh "$c" "$REQUESTS" || true) | awk '/instructions per tools\/call/ {print $4}')
  [ -n "${INSTR[$c]}" ] || { echo "bench/callgrind.sh $c printed no count" >&2; exit 1; }
done

{
  echo "## bench/observability.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (gateway on core 0), wrk -t1 -c$CONNECTIONS"
  echo
  echo "| gateway | req/s | p99 ms | gateway CPU µs/req | instructions/req (callgrind, $REQUESTS calls) |"
  echo "|---|---|---|---|---|"
  echo "| metrics only (always on) | ${RPS[metrics]} | ${P99[metrics]} | ${CPU[metrics]} | ${INSTR[call]} |"
  echo "| + tracing 100% + access log | ${RPS[traced-100]} | ${P99[traced-100]} | ${CPU[traced-100]} | ${INSTR[traced]} |"
  echo "| + tracing 1% + access log | ${RPS[traced-1]} | ${P99[traced-1]} | ${CPU[traced-1]} | ${INSTR[traced1]} |"
  echo
  python3 - "${RPS[metrics]}" "${RPS[traced-100]}" "${RPS[traced-1]}" "${INSTR[call]}" "${INSTR[traced]}" "${INSTR[traced1]}" <<'PY'
import sys
r0, r100, r1, i0, i100, i1 = map(float, sys.argv[1:])
print(f"- tracing 100% + access log: {i100 / i0 - 1:+.1%} instructions, throughput {r100 / r0:.2f}x")
print(f"- tracing 1% + access log: {i1 / i0 - 1:+.1%} instructions, throughput {r1 / r0:.2f}x")
PY
} | tee bench/observability-results.md
