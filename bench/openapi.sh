#!/usr/bin/env bash
# An OpenAPI tool through the gateway vs the same REST call direct, in one run, against the same
# API (bench/rest_backend.py, a minimal REST server with its own OpenAPI 3.1 document):
#   item         wrk GET /items/7?size=16 → API  vs  wrk POST tools/call getItem {id: 7, size: 16}
#                → gateway (mcp handler, one openapi target read from the API's /openapi.json) → API
#   item64k      the same with a 64 KiB name in the answer
#   mcp-call     for scale, a tools/call to an MCP server's tool through the same gateway
#                (bench/mcp_backend.py, an http target), i.e. what bench/mcp.sh measures as call-gateway
# For each: requests/s and p99 at CONNECTIONS connections (median of 3 runs), p50 at 1 connection,
# and the gateway's CPU time per request. The gateway runs on core 0; the API and wrk on core 1.
# Usage: bench/openapi.sh [DURATION_SECONDS] [CONNECTIONS]   (release build; results → bench/openapi-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
scripts/install-deps --bench
swift build -c release --product agentgateway >/dev/null
swift build -c release --product mcp >/dev/null
BIN=$(swift build -c release --show-bin-path)
bench_setup
API=$(bench_port); MCP=$(bench_port); GW=$(bench_port)

$LOAD_CPU python3 bench/rest_backend.py "$API" > "$WORK/api.log" 2>&1 & PIDS+=($!)
$LOAD_CPU python3 bench/mcp_backend.py "$MCP" 20 > "$WORK/mcp.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$API/openapi.json" >/dev/null && break; sleep 0.1; done
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.mcp]
path = "$BIN/libmcp.so"
[[routes]]
name = "api"
[routes.match]
path = "/api"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = "items"
type = "openapi"
spec = "http://127.0.0.1:$API/openapi.json"
[[routes]]
name = "mcp"
[routes.match]
path = "/mcp"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = "a"
type = "http"
url = "http://127.0.0.1:$MCP/mcp"
TOML
$GW_CPU "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning & GWPID=$!; PIDS+=($GWPID)

call_lua() { # name tool arguments — counts answers without a JSON-RPC result or with isError
  cat > "$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = [[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"$2","arguments":$3}}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
LUA
  bench_jsonrpc_failures_lua --tool-errors >> "$WORK/$1.lua"
}
direct_lua() { # name — a GET; wrk_summary counts non-2xx answers
  printf 'wrk.method = "GET"\nfunction done(summary, latency, requests) io.write("JSON-RPC errors: 0\\n") end\n' > "$WORK/$1.lua"
}
call_lua item getItem '{"id":7,"size":16}'
call_lua item64k getItem '{"id":7,"size":65536}'
call_lua mcpcall echo '{"size":16}'
direct_lua direct

bench_wait_tools "http://127.0.0.1:$GW/api"
bench_wait_tools "http://127.0.0.1:$GW/mcp"

declare -A RPS P99 LAT50 CPU
CASES=("item-direct:http://127.0.0.1:$API/items/7?size=16:direct" "item-gateway:http://127.0.0.1:$GW/api:item"
       "item64k-direct:http://127.0.0.1:$API/items/7?size=65536:direct" "item64k-gateway:http://127.0.0.1:$GW/api:item64k"
       "mcp-call-gateway:http://127.0.0.1:$GW/mcp:mcpcall")
for case in "${CASES[@]}"; do
  name=${case%%:*}; rest=${case#*:}; script=${rest##*:}; url=${rest%:*}
  pid=-; if [[ "$url" == *":$GW/"* ]]; then pid=$GWPID; fi
  read -r rps p99 cpu errs l50 _ < <(bench_case "$name" "$url" "$WORK/$script.lua" "$pid" --jsonrpc)
  [ "$errs" = 0 ] || { echo "$name: $errs answers were errors" >&2; exit 1; }
  RPS[$name]=$rps; P99[$name]=$p99; LAT50[$name]=$l50; CPU[$name]=$cpu
done

{
  echo "## bench/openapi.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (gateway on core 0; API and wrk on core 1), wrk -t1"
  echo
  echo "| case | req/s @${CONNECTIONS} conns | p99 ms @${CONNECTIONS} | p50 ms @1 conn | gateway CPU µs/req |"
  echo "|---|---|---|---|---|"
  for case in "${CASES[@]}"; do name=${case%%:*}; echo "| $name | ${RPS[$name]} | ${P99[$name]} | ${LAT50[$name]} | ${CPU[$name]} |"; done
  echo
  python3 - "${RPS[item-direct]}" "${RPS[item-gateway]}" "${RPS[item64k-direct]}" "${RPS[item64k-gateway]}" \
            "${LAT50[item-direct]}" "${LAT50[item-gateway]}" "${CPU[item-gateway]}" "${CPU[mcp-call-gateway]}" <<'PY'
import sys
d, g, bd, bg, l50d, l50g, cpu, cpum = map(float, sys.argv[1:])
print(f"- OpenAPI tool / direct REST throughput {g / d:.2f}; with a 64 KiB answer {bg / bd:.2f}")
print(f"- added p50 at one connection: {l50g - l50d:+.3f} ms ({l50d:.3f} → {l50g:.3f})")
print(f"- gateway CPU per OpenAPI tools/call {cpu:.1f} µs vs {cpum:.1f} µs for an MCP server's tool")
PY
} | tee bench/openapi-results.md
