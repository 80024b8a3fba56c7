#!/usr/bin/env bash
# MCP through the gateway vs direct to the upstream, in one run, against the same upstream
# (bench/mcp_backend.py, a minimal Streamable HTTP MCP server):
#   tools/call            wrk → upstream  vs  wrk → gateway (mcp handler, one target) → upstream
#   tools/call 64 KiB     the same with a 64 KiB result
#   tools/list            wrk → upstream (20 tools) vs wrk → gateway merging 3 targets (60 tools)
#   tools/call + filters  the same call through jwt_auth + rbac + ratelimit (a bearer token, a rule,
#                         a per-user bucket that never runs dry), to price the three filters
#   nginx                 tools/call (16 B and 64 KiB results) through nginx as a plain reverse
#                         proxy (one worker, on the gateway's core, keep-alive to the upstream): the
#                         reference a proxy in front of an MCP server is held to
# For each: requests/s and p99 at CONNECTIONS connections (median of 3 runs), p50 at 1 connection,
# and the gateway's CPU time per request. The gateway runs on core 0; upstream and wrk on core 1.
# Usage: bench/mcp.sh [DURATION_SECONDS] [CONNECTIONS]   (release build; results → bench/mcp-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
scripts/install-deps --bench
swift build -c release --product agentgateway >/dev/null
for product in mcp jwt_auth rbac ratelimit; do swift build -c release --product "$product" >/dev/null; done
BIN=$(swift build -c release --show-bin-path)
bench_setup
UP=$(bench_port); GW=$(bench_port)

$LOAD_CPU python3 bench/mcp_backend.py "$UP" 20 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
target() { printf '[[routes.handler.config.targets]]\nname = "%s"\ntype = "http"\nurl = "http://127.0.0.1:%s/mcp"\n' "$1" "$UP"; }
TOKEN=$(bench_token)
# One event loop: the gateway is pinned to one core (like nginx's one worker); NIO would start a
# loop per core of the machine and make the two threads take turns on that core.
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
$(bench_plugins "$BIN")
[[routes]]
name = "one"
[routes.match]
path = "/one"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
$(target a)
[[routes]]
name = "three"
[routes.match]
path = "/three"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
$(target a)
$(target b)
$(target c)
[[routes]]
name = "secured"
[routes.match]
path = "/secured"
$(bench_security_filters)
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
$(target a)
TOML
$GW_CPU "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning & GWPID=$!; PIDS+=($GWPID)
NG=$(bench_port); BACKEND=$UP
bench_nginx_conf mcpproxy "server { listen 127.0.0.1:$NG; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
$GW_CPU nginx -c "$WORK/mcpproxy.conf" -g 'daemon off;' & NGPID=$!; PIDS+=($NGPID)

lua() { # name body [token] — and count answers without a JSON-RPC result (errors come with HTTP 200)
  local authorization=""
  if [ -n "${3:-}" ]; then authorization="wrk.headers[\"Authorization\"] = \"Bearer $3\""; fi
  cat > "$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$2]]
$authorization
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
LUA
bench_jsonrpc_failures_lua >> "$WORK/$1.lua"
}
lua call '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":16}}}'
lua call64k '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":65536}}}'
lua list '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
lua callauth '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":16}}}' "$TOKEN"

for url in "http://127.0.0.1:$UP/mcp" "http://127.0.0.1:$NG/mcp" "http://127.0.0.1:$GW/one" "http://127.0.0.1:$GW/three" "http://127.0.0.1:$GW/secured"; do
  bench_wait_tools "$url" -H "authorization: Bearer $TOKEN"
done

NGWORKER=$(pgrep -P "$NGPID" | head -1) # the worker (a child of the master started above) does the work
declare -A RPS P99 LAT50 CPU
CASES=("call-direct:http://127.0.0.1:$UP/mcp:call" "call-nginx:http://127.0.0.1:$NG/mcp:call" "call-gateway:http://127.0.0.1:$GW/one:call"
       "call64k-direct:http://127.0.0.1:$UP/mcp:call64k" "call64k-nginx:http://127.0.0.1:$NG/mcp:call64k" "call64k-gateway:http://127.0.0.1:$GW/one:call64k"
       "list-direct:http://127.0.0.1:$UP/mcp:list" "list-gateway-3-targets:http://127.0.0.1:$GW/three:list"
       "call-gateway-auth-rbac-ratelimit:http://127.0.0.1:$GW/secured:callauth")
for case in "${CASES[@]}"; do
  name=${case%%:*}; rest=${case#*:}; script=${rest##*:}; url=${rest%:*}
  pid=-; if [[ "$url" == *":$GW/"* ]]; then pid=$GWPID; elif [[ "$url" == *":$NG/"* ]]; then pid=$NGWORKER; fi
  read -r rps p99 cpu errs l50 _ < <(bench_case "$name" "$url" "$WORK/$script.lua" "$pid" --jsonrpc)
  [ "$errs" = 0 ] || { echo "$name: $errs responses were not a JSON-RPC result" >&2; exit 1; }
  RPS[$name]=$rps; P99[$name]=$p99; LAT50[$name]=$l50; CPU[$name]=$cpu
done

{
  echo "## bench/mcp.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (gateway on core 0; upstream and wrk on core 1), wrk -t1"
  echo
  echo "| case | req/s @${CONNECTIONS} conns | p99 ms @${CONNECTIONS} | p50 ms @1 conn | proxy CPU µs/req |"
  echo "|---|---|---|---|---|"
  for case in "${CASES[@]}"; do name=${case%%:*}; echo "| $name | ${RPS[$name]} | ${P99[$name]} | ${LAT50[$name]} | ${CPU[$name]} |"; done
  echo
  python3 - "${RPS[call-direct]}" "${RPS[call-gateway]}" "${RPS[call64k-direct]}" "${RPS[call64k-gateway]}" "${RPS[list-direct]}" "${RPS[list-gateway-3-targets]}" \
            "${RPS[call-gateway-auth-rbac-ratelimit]}" "${CPU[call-gateway]}" "${CPU[call-gateway-auth-rbac-ratelimit]}" <<'PY'
import sys
cd, cg, bd, bg, ld, lg, cf, cpu, cpuf = map(float, sys.argv[1:])
print(f"- tools/call: gateway / direct throughput {cg / cd:.2f}; with a 64 KiB result {bg / bd:.2f}")
print(f"- tools/list merged from 3 targets (3 upstream calls per request) / one direct list: {lg / ld:.2f}")
print(f"- jwt_auth + rbac + ratelimit on tools/call: {cpuf - cpu:+.1f} µs of gateway CPU per request ({cpu:.1f} → {cpuf:.1f}), throughput {cf / cg:.2f}× the unfiltered route")
PY
  python3 - "${RPS[call-direct]}" "${RPS[call-nginx]}" "${RPS[call-gateway]}" "${CPU[call-nginx]}" "${CPU[call-gateway]}" \
            "${RPS[call64k-nginx]}" "${RPS[call64k-gateway]}" "${CPU[call64k-nginx]}" "${CPU[call64k-gateway]}" \
            "${LAT50[call-direct]}" "${LAT50[call-nginx]}" "${LAT50[call-gateway]}" <<'PY'
import sys
d, n, g, cn, cg, n64, g64, cn64, cg64, l_d, l_n, l_g = map(float, sys.argv[1:])
print(f"- tools/call against nginx proxying it: throughput {g / n:.2f}× (target ≥ 0.8×), CPU per request {cg / cn:.2f}× ({cn:.1f} → {cg:.1f} µs; target ≤ 2×)")
print(f"- with a 64 KiB result: throughput {g64 / n64:.2f}×, CPU per request {cg64 / cn64:.2f}× ({cn64:.1f} → {cg64:.1f} µs)")
print(f"- added p50 at one connection: gateway {1000 * (l_g - l_d):.0f} µs, nginx {1000 * (l_n - l_d):.0f} µs ({(l_g - l_d) / max(l_n - l_d, 0.001):.1f}×; target ≤ 1.5×)")
PY
} | tee bench/mcp-results.md
