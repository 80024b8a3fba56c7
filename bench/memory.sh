#!/usr/bin/env bash
# The gateway's resident memory (VmRSS) idle, with COUNT idle keep-alive connections, and with
# COUNT MCP sessions each holding an SSE GET stream (bench/memory_clients.py), on one release
# build. Targets: idle < 40 MB; 10,000 idle connections < 150 MB; 10,000 sessions with streams
# < 300 MB. Usage: bench/memory.sh [COUNT]   (default 10000; the gateway's open-file limit must
# allow 2 x COUNT)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COUNT=${1:-10000}
for product in agentgateway mcp; do swift build -c release --product "$product" >/dev/null; done
BIN=$(swift build -c release --show-bin-path)
bench_setup
UP=$(bench_port); GW=$(bench_port)
python3 bench/mcp_backend.py "$UP" 5 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
idle_timeout_ms = 600000
max_connections = $((COUNT * 3))
[plugins.mcp]
path = "$BIN/libmcp.so"
[[routes]]
name = "health"
[routes.match]
path = "/health"
[routes.backend]
urls = ["http://127.0.0.1:$UP"]
[[routes]]
name = "mcp"
[routes.match]
path = "/mcp"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
upstream_sessions = "shared"
max_sessions = $((COUNT * 2))
[[routes.handler.config.targets]]
name = "a"
type = "http"
url = "http://127.0.0.1:$UP/mcp"
TOML
"$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning > "$WORK/gateway.log" 2>&1 & GWPID=$!; PIDS+=($GWPID)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$GW/health" >/dev/null && break; sleep 0.1; done
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$GWPID/status"; }
sleep 5
IDLE=$(rss)
echo "idle: $IDLE MB"
hold() { # mode → RSS with COUNT of them open
  local fifo="$WORK/$1.fifo"
  mkfifo "$fifo"
  python3 bench/memory_clients.py "$GW" "$1" "$COUNT" < "$fifo" > "$WORK/$1.out" 2>&1 & local client=$!
  exec 3> "$fifo"
  for _ in $(seq 600); do grep -q "^ready" "$WORK/$1.out" && break; sleep 0.5; done
  sleep 3
  echo "$1: $(head -1 "$WORK/$1.out"), RSS $(rss) MB" >&2
  rss
  echo >&3
  exec 3>&-
  wait $client
  sleep 3
}
CONNECTIONS=$(hold idle)
SESSIONS=$(hold sessions)
python3 - "$IDLE" "$CONNECTIONS" "$SESSIONS" "$COUNT" <<'PY'
import sys
idle, connections, sessions, count = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"== bench/memory.sh {count}: idle {idle:.1f} MB; {count} idle connections {connections:.1f} MB "
      f"({(connections - idle) * 1024 / count:.1f} KiB each); {count} MCP sessions with SSE streams {sessions:.1f} MB "
      f"({(sessions - idle) * 1024 / count:.1f} KiB each)")
PY
