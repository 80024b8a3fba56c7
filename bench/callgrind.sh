#!/usr/bin/env bash
# Counts the gateway's instructions per MCP tools/call with callgrind: repeatable to ~1% on a
# noisy VM where wall-clock CPU per request swings ±25%. Only user-space instructions count
# (syscalls and the kernel's share are not in the number).
#   call     tools/call through the mcp handler to bench/mcp_backend.py (a 16-byte result)
#   call64k  the same with a 64 KiB result
#   secured  the small call through jwt_auth + rbac + ratelimit
#   traced   the small call with tracing (every request sampled, exported over OTLP/HTTP to a
#            sink on loopback) and the access log (to a file)
#   traced1  the same sampling 1% of requests
#   openapi  tools/call of an OpenAPI tool (an `openapi` target reading bench/rest_backend.py's
#            document): GET /items/7?size=16 to that API, its JSON answer made a tool result
# Metrics are always on. Usage: bench/callgrind.sh [call|call64k|secured|traced|traced1|openapi] [REQUESTS]   → instructions/request, top functions,
#        and the profiles in .build-valgrind/last.out.1-* (one per thread; read them with callgrind_annotate). The count is
#        every thread's; the line also splits it into the event loop's (the request path) and the
#        other threads' (the access-log writer, the span exporter, which work in batches: their
#        share per request depends on how many requests a batch holds, and callgrind runs the
#        gateway ~50x slower than it runs, so batches here are ~50x smaller than in service).
#
# Debian 12's valgrind 3.19 cannot read this toolchain's DWARF, so the script fetches valgrind
# 3.24 from Debian 13 into .build-valgrind (no install), and preloads a shim: valgrind 3.24
# writes into the mask given to sigsuspend, which libdispatch keeps in read-only memory.
set -euo pipefail
cd "$(dirname "$0")/.."
CASE=${1:-call}
REQUESTS=${2:-1000}
VG=.build-valgrind
scripts/install-deps --bench
if [ ! -x "$VG/usr/bin/valgrind.bin" ]; then
  mkdir -p "$VG"
  echo "deb http://deb.debian.org/debian trixie main" > /etc/apt/sources.list.d/agw-valgrind-trixie.list
  trap 'rm -f /etc/apt/sources.list.d/agw-valgrind-trixie.list' EXIT
  apt-get update -qq -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/agw-valgrind-trixie.list -o Dir::Etc::sourceparts=- >/dev/null
  (cd "$VG" && apt-get download -qq -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/agw-valgrind-trixie.list \
     -o Dir::Etc::sourceparts=- valgrind/trixie >/dev/null && dpkg-deb -x valgrind_*.deb . && rm valgrind_*.deb)
  rm -f /etc/apt/sources.list.d/agw-valgrind-trixie.list
  apt-get update -qq >/dev/null
  trap - EXIT
fi
cc -shared -fPIC -O2 bench/valgrind_sigsuspend_shim.c -o "$VG/sigsuspend_shim.so" -ldl
# callgrind_control talks to the process through vgdb; 3.24's needs a newer glibc, 3.19's works.
sed 's#^    \$vgdb_exe = "vgdb"$#    $vgdb_exe = "/usr/bin/vgdb"#' "$VG/usr/bin/callgrind_control" > "$VG/callgrind_control"
for product in agentgateway mcp jwt_auth rbac ratelimit; do swift build -c release --product "$product" >/dev/null; done
BIN=$(swift build -c release --show-bin-path)
. bench/lib.sh
bench_setup
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); GW=$(port)
TARGET="type = \"http\"
url = \"http://127.0.0.1:$UP/mcp\""
TOOL=echo
if [ "$CASE" = openapi ]; then
  python3 bench/rest_backend.py "$UP" > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$UP/openapi.json" >/dev/null && break; sleep 0.1; done
  TARGET="type = \"openapi\"
spec = \"http://127.0.0.1:$UP/openapi.json\""
  TOOL=getItem
else
  python3 bench/mcp_backend.py "$UP" 20 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
fi
FILTERS=""
if [ "$CASE" = secured ]; then FILTERS=$(bench_security_filters); fi
OBSERVED=""
if [ "$CASE" = traced ] || [ "$CASE" = traced1 ]; then
  SINK=$(port)
  python3 bench/otlp_sink.py "$SINK" > "$WORK/sink-spans.log" 2>&1 & PIDS+=($!)
  RATIO=1.0; [ "$CASE" = traced1 ] && RATIO=0.01
  OBSERVED="[tracing]
endpoint = \"http://127.0.0.1:$SINK/v1/traces\"
sample_ratio = $RATIO
[access_log]
path = \"$WORK/access.log\""
fi
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
$OBSERVED
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
$(bench_plugins "$BIN")
[[routes]]
name = "bench"
[routes.match]
path = "/mcp"
$FILTERS
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = "a"
$TARGET
TOML
rm -f "$VG"/last.out*
LD_PRELOAD="$PWD/$VG/sigsuspend_shim.so" VALGRIND_LIB="$PWD/$VG/usr/libexec/valgrind" "$VG/usr/bin/valgrind.bin" --tool=callgrind \
  --separate-threads=yes --callgrind-out-file="$PWD/$VG/last.out" "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning > "$WORK/gateway.log" 2>&1 &
GWPID=$!; PIDS+=($GWPID)
SIZE=16
if [ "$CASE" = call64k ]; then SIZE=65536; fi
python3 - "$GW" "$REQUESTS" "$GWPID" "$(bench_token)" "$VG/callgrind_control" "$SIZE" "$WORK/sink-spans.log" "$TOOL" > "$WORK/spans" <<'PY'
import http.client, json, os, subprocess, sys, time
port, n, pid, token, control, size, sink = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7]
tool = sys.argv[8]
arguments = {"id": 7, "size": size} if tool == "getItem" else {"size": size}
def exported():  # spans the OTLP sink has received so far
    if not os.path.exists(sink):
        return 0
    return sum(int(line.split()[1]) for line in open(sink) if line.startswith("spans "))
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
headers = {"content-type": "application/json", "accept": "application/json, text/event-stream", "authorization": "Bearer " + token}
deadline = time.time() + 180
while True:  # the gateway runs ~50x slower under callgrind; wait for the target to be ready
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/mcp", body, headers)
        if b'"result"' in connection.getresponse().read():
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("the gateway never answered under callgrind")
    time.sleep(0.5)
def call():
    connection.request("POST", "/mcp", body, headers)
    answer = connection.getresponse().read()
    assert b'"result"' in answer and b'"isError":true' not in answer, answer
for _ in range(50):
    call()
subprocess.run(["perl", control, "-z", pid], check=True, capture_output=True)   # count only what follows
first = exported()
for _ in range(n):
    call()
subprocess.run(["perl", control, "-d", pid], check=True, capture_output=True)
print(exported() - first)
PY
total=0; loop=0; writer=0; LOOP_PART=""
for part in "$VG"/last.out.1-*; do
  count=$(awk '/^(summary|totals):/ {print $2; exit}' "$part")
  total=$((total + count))
  if grep -q "HTTPServerHandler" "$part"; then loop=$((loop + count)); LOOP_PART=$part
  elif grep -q "AccessLogWriter" "$part"; then writer=$((writer + count)); fi
done
echo "== bench/callgrind.sh $CASE: $((total / REQUESTS)) instructions per tools/call ($REQUESTS requests, one connection): $((loop / REQUESTS)) on the event loop, $((writer / REQUESTS)) on the access-log writer, $(((total - loop - writer) / REQUESTS)) on other threads (span export)"
if [ -n "${SINK:-}" ]; then
  spans=$(cat "$WORK/spans")
  echo "   $spans spans exported meanwhile ($(grep -c '^spans' "$WORK/sink-spans.log") batches in all): $(((total - loop - writer) / (spans > 0 ? spans : 1))) instructions per exported span on other threads"
fi
"$VG/usr/bin/callgrind_annotate" --inclusive=yes --threshold=100 "$LOOP_PART" 2>/dev/null | sed -n '/file:function/,$p' \
  | swift demangle --simplified | grep -E "Sources/|Plugins/" | grep -v checkouts | head -25 \
  | sed -E "s#$PWD/##; s#\[[^]]*/([^/]+)\]#[\1]#" | cut -c1-160
