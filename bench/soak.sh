#!/usr/bin/env bash
# A soak: SECONDS (default 600) of mixed load on one gateway, every response checked, its memory
# and file descriptors sampled every SAMPLE seconds (default 60).
#   - the peak first: wrk, 32 connections of MCP tools/call for 5 s (its req/s is printed);
#   - then twice that concurrency of tools/call (64 connections, wrk, each answer's result text
#     checked), 32 connections of proxied GETs (each body compared whole), 20 SSE streams read to
#     their end with every event's sequence checked, 10 slow clients (a head sent 7 bytes at a
#     time), and 4 clients of an upstream that resets mid-body, answers slowly and closes kept-alive
#     connections (bench/fault_backend.py): each outcome must be the exact body, a 502, or a body
#     cut off — never a wrong one.
# Fails when a response is lost (a socket error, a timeout) or wrong. Prints RSS and fd samples.
# Usage: bench/soak.sh [SECONDS] [SAMPLE]   (release build; SOAK_BIN=dir uses another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-600}
SAMPLE=${2:-60}
scripts/install-deps --bench
if [ -z "${SOAK_BIN:-}" ]; then
  for product in agentgateway mcp; do swift build -c release --product "$product" >/dev/null; done
  SOAK_BIN=$(swift build -c release --show-bin-path)
fi
bench_setup
MCP=$(bench_port); API=$(bench_port); FAULT=$(bench_port); GW=$(bench_port)
$LOAD_CPU python3 bench/mcp_backend.py "$MCP" 5 > "$WORK/mcp.log" 2>&1 & PIDS+=($!)
$LOAD_CPU python3 bench/rest_backend.py "$API" > "$WORK/api.log" 2>&1 & PIDS+=($!)
$LOAD_CPU python3 bench/fault_backend.py "$FAULT" > "$WORK/fault.log" 2>&1 & PIDS+=($!)
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.mcp]
path = "$SOAK_BIN/libmcp.so"
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
[[routes]]
name = "api"
[routes.match]
path_prefix = "/api"
[routes.backend]
urls = ["http://127.0.0.1:$API"]
[[routes]]
name = "faulty"
[routes.match]
path_prefix = "/faulty"
[routes.backend]
urls = ["http://127.0.0.1:$FAULT"]
request_timeout_ms = 5000
TOML
$GW_CPU "$SOAK_BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning > "$WORK/gateway.log" 2>&1 & GWPID=$!; PIDS+=($GWPID)
bench_wait_tools "http://127.0.0.1:$GW/mcp"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$GW/api/items/1?size=1" >/dev/null && break; sleep 0.1; done

# (/api/items/7 reaches rest_backend.py with its prefix; it reads the last two segments.)
cat > "$WORK/mcp.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":16}}}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) wrong = 0 end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"text": "xxxxxxxxxxxxxxxx"', 1, true) or not string.find(body, '"isError": false', 1, true) then
    wrong = wrong + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("wrong") end
  io.write("JSON-RPC errors: " .. total .. "\n")
end
LUA
cat > "$WORK/api.lua" <<'LUA'
local threads = {}
local expected = '{"id": 7, "name": "' .. string.rep("x", 64) .. '"}'
function setup(thread) table.insert(threads, thread) end
function init(args) wrong = 0 end
function response(status, headers, body)
  if status ~= 200 or body ~= expected then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("wrong") end
  io.write("JSON-RPC errors: " .. total .. "\n")
end
LUA
sample() { # label
  local rss fds
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$GWPID/status")
  fds=$(ls "/proc/$GWPID/fd" | wc -l)
  echo "$1 rss_kb=$rss fds=$fds" | tee -a "$WORK/samples"
}

echo "== peak: 32 connections of tools/call, 5 s"
PEAK=$($LOAD_CPU wrk -t1 -c32 -d5s --latency -s "$WORK/mcp.lua" "http://127.0.0.1:$GW/mcp" | python3 bench/wrk_summary.py --jsonrpc)
echo "   $PEAK   (req/s p50 p99 requests cpu errors)"
sample "t=0"
$LOAD_CPU wrk -t1 -c64 -d"${DURATION}s" --timeout 10s --latency -s "$WORK/mcp.lua" "http://127.0.0.1:$GW/mcp" > "$WORK/wrk-mcp.out" 2>&1 & WRK1=$!
$LOAD_CPU wrk -t1 -c32 -d"${DURATION}s" --timeout 10s --latency -s "$WORK/api.lua" "http://127.0.0.1:$GW/api/items/7?size=64" > "$WORK/wrk-api.out" 2>&1 & WRK2=$!
$LOAD_CPU python3 bench/soak_clients.py "$GW" "$DURATION" > "$WORK/side.json" 2> "$WORK/side.err" & SIDE=$!
PIDS+=($WRK1 $WRK2 $SIDE)
for ((elapsed = SAMPLE; elapsed <= DURATION; elapsed += SAMPLE)); do
  sleep "$SAMPLE"
  sample "t=${elapsed}s"
done
wait $WRK1 $WRK2 || true
wait $SIDE || { cat "$WORK/side.err" >&2; }
sleep 1
sample "end"
mcp=$(python3 bench/wrk_summary.py --jsonrpc --socket-errors < "$WORK/wrk-mcp.out")
api=$(python3 bench/wrk_summary.py --jsonrpc --socket-errors < "$WORK/wrk-api.out")
echo "== soak ${DURATION}s — tools/call x64: $mcp"
echo "   proxied GET x32: $api   (req/s p50 p99 requests cpu errors: non-2xx + wrong bodies + socket errors)"
echo "   side load: $(cat "$WORK/side.json")"
python3 - "$mcp" "$api" "$WORK/side.json" "$WORK/samples" <<'PY'
import json, sys
mcp, api = sys.argv[1].split(), sys.argv[2].split()
side = json.load(open(sys.argv[3]))
samples = [dict(field.split("=") for field in line.split()[1:]) for line in open(sys.argv[4])]
rss = [int(s["rss_kb"]) for s in samples]
print(f"   RSS {min(rss) / 1024:.1f}–{max(rss) / 1024:.1f} MB over {len(rss)} samples; fds {min(int(s['fds']) for s in samples)}–{max(int(s['fds']) for s in samples)}")
failures = int(mcp[-1]) + int(api[-1]) + side["wrong"]
print(f"   lost or wrong responses: {failures}")
sys.exit(1 if failures else 0)
PY
