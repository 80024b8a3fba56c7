#!/usr/bin/env bash
# Counts the gateway's instructions per request with callgrind: repeatable to ~1% on a noisy VM
# where wall-clock CPU per request swings ±25%. Only user-space instructions count (syscalls and
# the kernel's share are not in the number). In the same run it counts nginx (one worker, under
# callgrind too) proxying the same request to the same upstream, and prints the ratio.
#   call     tools/call through the mcp handler to bench/mcp_backend.py (a 16-byte result);
#            nginx: the same POST proxied to the MCP server
#   call64k  the same with a 64 KiB result
#   secured  the small call through jwt_auth + rbac + ratelimit (nginx: the plain proxy again)
#   proxy    plain HTTP proxying: GET /items/7?size=16 through a route with a backend, to
#            bench/rest_backend.py; nginx: the same GET proxied
#   traced   the small call with tracing (every request sampled, exported over OTLP/HTTP to a
#            sink on loopback) and the access log (to a file)
#   traced1  the same sampling 1% of requests
#   openapi  tools/call of an OpenAPI tool (an `openapi` target reading bench/rest_backend.py's
#            document): GET /items/7?size=16 to that API, its JSON answer made a tool result
# Metrics are always on. Usage: bench/callgrind.sh [call|call64k|secured|proxy|traced|traced1|openapi] [REQUESTS]
#        → instructions/request (the gateway's, nginx's, their ratio), top functions, and the
#        profiles in .build-valgrind/last.out.1-* (one per thread; read them with callgrind_annotate). The count is
#        every thread's; the line also splits it into the event loop's (the request path) and the
#        other threads' (the access-log writer, the span exporter, which work in batches: their
#        share per request depends on how many requests a batch holds, and callgrind runs the
#        gateway ~50x slower than it runs, so batches here are ~50x smaller than in service).
#        NGINX=0 skips nginx; CALLGRIND_BIN=DIR measures the release build in DIR instead of this one.
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
if [ -n "${CALLGRIND_BIN:-}" ]; then
  BIN=$CALLGRIND_BIN  # another build to measure (e.g. a worktree of an older commit, built with -c release)
else
  for product in agentgateway mcp jwt_auth rbac ratelimit; do swift build -c release --product "$product" >/dev/null; done
  BIN=$(swift build -c release --show-bin-path)
fi
. bench/lib.sh
bench_setup
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); GW=$(port)
TARGET="type = \"http\"
url = \"http://127.0.0.1:$UP/mcp\""
TOOL=echo
if [ "$CASE" = openapi ] || [ "$CASE" = proxy ]; then
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
if [ "$CASE" = proxy ]; then
  TERMINAL="[routes.backend]
urls = [\"http://127.0.0.1:$UP\"]"
  MATCH="path_prefix = \"/items\""
else
  TERMINAL="[routes.handler]
plugin = \"mcp\"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = \"a\"
$TARGET"
  MATCH="path = \"/mcp\""
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
$MATCH
$FILTERS
$TERMINAL
TOML
# What each request is, for the gateway and for nginx.
SIZE=16
if [ "$CASE" = call64k ]; then SIZE=65536; fi
if [ "$CASE" = proxy ]; then
  METHOD=GET; REQUEST_PATH="/items/7?size=16"; BODY=-; EXPECT='"name"'
else
  METHOD=POST; REQUEST_PATH=/mcp; BODY="$WORK/body.json"; EXPECT='"result"'
  ARGUMENTS="{\"size\": $SIZE}"; [ "$TOOL" = getItem ] && ARGUMENTS="{\"id\": 7, \"size\": $SIZE}"
  printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$TOOL" "$ARGUMENTS" > "$BODY"
fi
HEADERS="{\"content-type\": \"application/json\", \"accept\": \"application/json, text/event-stream\", \"authorization\": \"Bearer $(bench_token)\"}"
callgrind() { # out-file command... — runs the command under callgrind in the background; PID in CGPID
  local out=$1; shift
  LD_PRELOAD="$PWD/$VG/sigsuspend_shim.so" VALGRIND_LIB="$PWD/$VG/usr/libexec/valgrind" "$VG/usr/bin/valgrind.bin" --tool=callgrind \
    --separate-threads=yes --callgrind-out-file="$out" "$@" > "$out.log" 2>&1 &
  CGPID=$!; PIDS+=($CGPID)
}
rm -f "$VG"/last.out* "$VG"/nginx.out*
callgrind "$PWD/$VG/last.out" "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning
GWPID=$CGPID
python3 bench/callgrind_client.py "$GW" "$METHOD" "$REQUEST_PATH" "$BODY" "$HEADERS" "$EXPECT" "$REQUESTS" "$GWPID" "$VG/callgrind_control" \
  "$WORK/sink-spans.log" > "$WORK/spans"
total=0; loop=0; writer=0; LOOP_PART=""
for part in "$VG"/last.out.1-*; do
  count=$(awk '/^(summary|totals):/ {print $2; exit}' "$part")
  total=$((total + count))
  # The event loop's thread: the one that ran the HTTP/1 handler (HTTPServerHandler before the codec).
  if grep -qE "HTTP1ServerHandler|HTTPServerHandler" "$part"; then loop=$((loop + count)); LOOP_PART=$part
  elif grep -q "AccessLogWriter" "$part"; then writer=$((writer + count)); fi
done
echo "== bench/callgrind.sh $CASE: $((total / REQUESTS)) instructions per request ($REQUESTS requests, one connection): $((loop / REQUESTS)) on the event loop, $((writer / REQUESTS)) on the access-log writer, $(((total - loop - writer) / REQUESTS)) on other threads (span export)"
if [ -n "${SINK:-}" ]; then
  spans=$(cat "$WORK/spans")
  echo "   $spans spans exported meanwhile ($(grep -c '^spans' "$WORK/sink-spans.log") batches in all): $(((total - loop - writer) / (spans > 0 ? spans : 1))) instructions per exported span on other threads"
fi
"$VG/usr/bin/callgrind_annotate" --inclusive=yes --threshold=100 "$LOOP_PART" 2>/dev/null | sed -n '/file:function/,$p' \
  | swift demangle --simplified | grep -E "Sources/|Plugins/" | grep -v checkouts | head -25 \
  | sed -E "s#$PWD/##; s#\[[^]]*/([^/]+)\]#[\1]#" | cut -c1-160 || true  # (head closes the pipe early)

# nginx proxying the same request to the same upstream, one worker, under callgrind too.
if [ "${NGINX:-1}" = 1 ] && [ "$CASE" != openapi ] && [ "$CASE" != traced ] && [ "$CASE" != traced1 ]; then
  NX=$(port)
  cat > "$WORK/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$UP; keepalive 16; }
  server {
    listen 127.0.0.1:$NX;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
NGINX
  callgrind "$PWD/$VG/nginx.out" /usr/sbin/nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
  python3 bench/callgrind_client.py "$NX" "$METHOD" "$REQUEST_PATH" "$BODY" "$HEADERS" "$EXPECT" "$REQUESTS" "$CGPID" "$VG/callgrind_control" > /dev/null
  nginx_total=0
  for part in "$VG"/nginx.out.1*; do nginx_total=$((nginx_total + $(awk '/^(summary|totals):/ {print $2; exit}' "$part"))); done
  python3 -c "import sys; g, n = int(sys.argv[1]), int(sys.argv[2]); print(f'== nginx: {n} instructions per request; gateway / nginx: {g / n:.2f}')" \
    "$((total / REQUESTS))" "$((nginx_total / REQUESTS))"
fi
