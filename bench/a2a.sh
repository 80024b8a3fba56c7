#!/usr/bin/env bash
# A2A through the gateway vs direct to the agent, in one run, against the same agent
# (bench/a2a_backend.py, a minimal stdlib A2A agent):
#   SendMessage      wrk → agent  vs  wrk → gateway (a2a handler) → agent: req/s and p99 at
#                    CONNECTIONS connections (median of 3 runs), p50 at 1 connection, gateway CPU
#   first event      SendStreamingMessage, time to the first SSE event and to the last, direct and
#                    through the gateway (the agent sends 5 events 100 ms apart; 30 streams each)
# The gateway runs on core 0; agent and load on core 1.
# Usage: bench/a2a.sh [DURATION_SECONDS] [CONNECTIONS]   (release build; results → bench/a2a-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
scripts/install-deps --bench
swift build -c release --product agentgateway >/dev/null
swift build -c release --product a2a >/dev/null
BIN=$(swift build -c release --show-bin-path)
bench_setup
UP=$(bench_port); GW=$(bench_port)
$LOAD_CPU python3 bench/a2a_backend.py "$UP" 5 100 > "$WORK/agent.log" 2>&1 & PIDS+=($!)
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.a2a]
path = "$BIN/liba2a.so"
[[routes]]
name = "agents"
[routes.match]
path_prefix = "/agents"
[routes.handler]
plugin = "a2a"
[[routes.handler.config.agents]]
name = "bench"
url = "http://127.0.0.1:$UP"
TOML
$GW_CPU "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning & GWPID=$!; PIDS+=($GWPID)

cat > "$WORK/send.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [[{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"ping"}]}}}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
LUA
bench_jsonrpc_failures_lua >> "$WORK/send.lua"
for url in "http://127.0.0.1:$UP/.well-known/agent-card.json" "http://127.0.0.1:$GW/agents/bench/.well-known/agent-card.json"; do
  for _ in $(seq 100); do curl -fs "$url" | grep -q '"name"' && break; sleep 0.1; done
done

declare -A RPS P99 LAT50 CPU
CASES=("send-direct:http://127.0.0.1:$UP/" "send-gateway:http://127.0.0.1:$GW/agents/bench/jsonrpc")
for case in "${CASES[@]}"; do
  name=${case%%:*}; url=${case#*:}
  pid=-; if [[ "$url" == *":$GW/"* ]]; then pid=$GWPID; fi
  read -r rps p99 cpu errs l50 _ < <(bench_case "$name" "$url" "$WORK/send.lua" "$pid" --jsonrpc)
  [ "$errs" = 0 ] || { echo "$name: $errs answers were not a JSON-RPC result" >&2; exit 1; }
  RPS[$name]=$rps; P99[$name]=$p99; LAT50[$name]=$l50; CPU[$name]=$cpu
done

# Time to the first and last event of a streamed message, 30 streams one after another.
FIRST=$($LOAD_CPU python3 - "http://127.0.0.1:$UP/" "http://127.0.0.1:$GW/agents/bench/jsonrpc" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage",
                   "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "go"}]}}})
for url in sys.argv[1:]:
    parsed = urllib.parse.urlparse(url)
    firsts, lasts = [], []
    for _ in range(30):
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        started = time.perf_counter()
        connection.request("POST", parsed.path, body, {"content-type": "application/json", "a2a-version": "1.0"})
        response = connection.getresponse()
        first = None
        events = 0
        while True:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                events += 1
                if first is None:
                    first = time.perf_counter() - started
        assert events == 7, events
        firsts.append(first * 1000)
        lasts.append((time.perf_counter() - started) * 1000)
        connection.close()
    print(f"{statistics.median(firsts):.2f} {max(firsts):.2f} {statistics.median(lasts):.1f}")
PY
)
read -r FIRST_DIRECT FIRST_DIRECT_MAX LAST_DIRECT FIRST_GW FIRST_GW_MAX LAST_GW < <(echo $FIRST)

{
  echo "## bench/a2a.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (gateway on core 0; agent and wrk on core 1), wrk -t1"
  echo
  echo "| case | req/s @${CONNECTIONS} conns | p99 ms @${CONNECTIONS} | p50 ms @1 conn | gateway CPU µs/req |"
  echo "|---|---|---|---|---|"
  for case in "${CASES[@]}"; do name=${case%%:*}; echo "| $name | ${RPS[$name]} | ${P99[$name]} | ${LAT50[$name]} | ${CPU[$name]} |"; done
  echo
  echo "| streamed SendStreamingMessage (5 events 100 ms apart) | first event, median ms | first event, max ms | last event, median ms |"
  echo "|---|---|---|---|"
  echo "| direct | $FIRST_DIRECT | $FIRST_DIRECT_MAX | $LAST_DIRECT |"
  echo "| through the gateway | $FIRST_GW | $FIRST_GW_MAX | $LAST_GW |"
  echo
  python3 - "${RPS[send-direct]}" "${RPS[send-gateway]}" "$FIRST_DIRECT" "$FIRST_GW" <<'PY'
import sys
direct, gateway, first_direct, first_gateway = map(float, sys.argv[1:])
print(f"- SendMessage: gateway / direct throughput {gateway / direct:.2f}")
print(f"- first streamed event: {first_gateway - first_direct:+.2f} ms through the gateway (median), long before the last")
PY
} | tee bench/a2a-results.md
