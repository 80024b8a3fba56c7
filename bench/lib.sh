# Shared by the bench scripts: the security filters priced on tools/call and the plugin table (so
# mcp.sh and callgrind.sh measure the same configuration), a free port, the wrk script tail
# that counts answers without a JSON-RPC result, and wrk runs measured the same way everywhere.

BENCH_SECRET=bench-secret-0123456789abcdefghijklmnop

# An HS256 bearer token for subject "bench" (verified once, then served from the token cache).
bench_token() {
  python3 -c '
import base64, hashlib, hmac, json, sys, time
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
claims = {"sub": "bench", "iss": "bench", "aud": "bench", "exp": int(time.time()) + 86400}
signing_input = b64(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + b64(json.dumps(claims).encode())
print(signing_input + "." + b64(hmac.new(sys.argv[1].encode(), signing_input.encode(), hashlib.sha256).digest()))
' "$BENCH_SECRET"
}

# [plugins.*] for the MCP plugin and the three security plugins of build directory $1.
bench_plugins() {
  for plugin in mcp jwt_auth rbac ratelimit; do printf '[plugins.%s]\npath = "%s/lib%s.so"\n' "$plugin" "$1" "$plugin"; done
}

# jwt_auth + rbac + ratelimit as a route's filters: the token above, one rule, a per-user bucket
# that never runs dry.
bench_security_filters() {
  cat <<TOML
[[routes.filters]]
plugin = "jwt_auth"
[routes.filters.config]
hmac_secret = "$BENCH_SECRET"
algorithms = ["HS256"]
issuer = "bench"
audiences = ["bench"]
[[routes.filters]]
plugin = "rbac"
[[routes.filters.config.rules]]
allow = 'jwt.sub == "bench" && mcp.tool.name == "echo"'
[[routes.filters]]
plugin = "ratelimit"
[[routes.filters.config.limits]]
key = ["jwt.sub"]
max_tokens = 1000000000
fill_interval = "1s"
TOML
}

# A free TCP port on 127.0.0.1.
bench_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The end of a wrk Lua script: counts answers without a JSON-RPC "result" (errors come with HTTP
# 200), and with --tool-errors also MCP tool results with "isError":true, and prints
# "JSON-RPC errors: N" after the run.
bench_jsonrpc_failures_lua() { # [--tool-errors]
  local tool_errors=false
  if [ "${1:-}" = --tool-errors ]; then tool_errors=true; fi
  cat <<LUA
local threads = {}
local count_tool_errors = $tool_errors
function setup(thread) table.insert(threads, thread) end
function init(args) failures = 0 end
function response(status, headers, body)
  if not string.find(body, '"result"', 1, true) then failures = failures + 1
  elseif count_tool_errors and string.find(body, '"isError":true', 1, true) then failures = failures + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failures") end
  io.write("JSON-RPC errors: " .. total .. "\\n")
end
LUA
}

# Writes $WORK/$1.conf: one nginx worker with the server block $2 and an upstream "backend" at
# 127.0.0.1:$BACKEND (keep-alive).
bench_nginx_conf() { # name server-block
  cat > "$WORK/$1.conf" <<NGINX
worker_processes 1;
pid $WORK/$1.pid;
error_log $WORK/$1-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  $2
}
NGINX
}

# WORK (a temporary directory), PIDS (processes the script starts) and the EXIT trap that stops
# them and removes WORK; GW_CPU / LOAD_CPU pin the gateway to core 0 and the load to core 1 (on
# a machine with two cores or more).
bench_setup() {
  WORK=$(mktemp -d)
  PIDS=()
  trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
  if [ "$(nproc)" -ge 2 ]; then GW_CPU="taskset -c 0"; LOAD_CPU="taskset -c 1"; else GW_CPU=""; LOAD_CPU=""; fi
}

# One measured wrk run: a 2 s warm-up, then DURATION seconds at CONNECTIONS connections, printed
# as "NAME rps p50 p99 requests cpu_us_per_req errors" (bench/wrk_summary.py). SCRIPT is a wrk Lua
# file, or "" for plain GETs; CPU_PID the process whose CPU time per request is counted, or "-";
# any further arguments go to wrk_summary.py (e.g. --jsonrpc).
bench_wrk() { # NAME URL SCRIPT CONNECTIONS CPU_PID [SUMMARY_ARGS...]
  local name=$1 url=$2 script=$3 conns=$4 pid=$5 before out
  shift 5
  local wrk_args=(-t1 -c"$conns") cpu=()
  if [ -n "$script" ]; then wrk_args+=(-s "$script"); fi
  $LOAD_CPU wrk "${wrk_args[@]}" -d2s "$url" >/dev/null
  if [ "$pid" != - ]; then before=$(awk '{print $14+$15}' "/proc/$pid/stat"); fi
  out=$($LOAD_CPU wrk "${wrk_args[@]}" -d"${DURATION}s" --latency "$url")
  if [ "$pid" != - ]; then cpu=(--cpu "$before" "$(awk '{print $14+$15}' "/proc/$pid/stat")" "$(getconf CLK_TCK)"); fi
  echo "$name $(python3 bench/wrk_summary.py "$@" "${cpu[@]}" <<< "$out")"
}

# One case as the result tables show it: the median (by req/s) of three runs at CONNECTIONS
# connections (this machine's neighbours make single runs noisy), then a run at one connection.
# Prints "rps p99 cpu_us_per_req errors p50@1 p99@1"; the arguments are bench_wrk's without
# CONNECTIONS.
bench_case() { # NAME URL SCRIPT CPU_PID [SUMMARY_ARGS...]
  local name=$1 url=$2 script=$3 pid=$4 rps p99 cpu errs l50 l99
  shift 4
  read -r _ rps _ p99 _ cpu errs < <(for _ in 1 2 3; do bench_wrk "$name" "$url" "$script" "$CONNECTIONS" "$pid" "$@"; done | sort -k2 -n | sed -n 2p)
  read -r _ _ l50 l99 _ _ _ < <(bench_wrk "$name" "$url" "$script" 1 "$pid" "$@")
  echo "$rps $p99 $cpu $errs $l50 $l99"
}

# Waits (up to 10 s) until URL lists MCP tools; exits the script if it never does. Further
# arguments are curl's (e.g. -H "authorization: Bearer …").
bench_wait_tools() { # URL [CURL_ARGS...]
  local url=$1
  shift
  for _ in $(seq 100); do
    if curl -fs -X POST -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' "$@" \
         -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$url" | grep -q '"inputSchema"'; then return 0; fi
    sleep 0.1
  done
  echo "$url never listed its tools" >&2
  exit 1
}
